"""Prices come from the catalogue: per business type, a channel's own price first, the key
charged only when a new one is sent, unlocking free."""
from __future__ import annotations

from sqlalchemy import select

from models import BusinessType, Channel, MediaModel, Price, Product
from public import catalogue


def _catalogue(session):
    product = session.scalar(select(Product).where(Product.code == "UNIT-1Y"))
    direct = session.scalar(select(Channel).where(Channel.code == "direct"))
    special = session.scalar(select(Channel).where(Channel.code == "zzggzy"))
    key = session.scalar(select(MediaModel).where(MediaModel.code == "UKEY-RS"))
    return product, direct, special, key


def test_each_business_type_has_its_own_price(db_session):
    product, direct, _special, _key = _catalogue(db_session)
    prices = {t: catalogue.price_cents(db_session, product, direct, t, None)
              for t in (BusinessType.NEW, BusinessType.RENEWAL, BusinessType.REPLACEMENT, BusinessType.INFO_CHANGE)}
    assert prices == {BusinessType.NEW: 30000, BusinessType.RENEWAL: 20000, BusinessType.REPLACEMENT: 25000,
                      BusinessType.INFO_CHANGE: 10000}
    assert catalogue.price_cents(db_session, product, direct, BusinessType.UNLOCK, None) == 0


def test_a_channel_price_wins_and_an_admin_change_applies(db_session):
    product, direct, special, _key = _catalogue(db_session)
    assert catalogue.price_cents(db_session, product, special, BusinessType.NEW, None) == 1
    # the channel has no renewal price of its own: the product's applies
    assert catalogue.price_cents(db_session, product, special, BusinessType.RENEWAL, None) == 20000
    price = db_session.scalar(select(Price).where(Price.product_id == product.id, Price.channel_id.is_(None),
                                                  Price.business_type == BusinessType.RENEWAL))
    price.amount_cents = 18800
    assert catalogue.price_cents(db_session, product, direct, BusinessType.RENEWAL, None) == 18800


def test_the_key_is_charged_only_when_a_new_one_is_sent(db_session):
    product, direct, _special, key = _catalogue(db_session)
    key.price_cents = 6000
    assert catalogue.price_cents(db_session, product, direct, BusinessType.NEW, key) == 36000
    assert catalogue.price_cents(db_session, product, direct, BusinessType.REPLACEMENT, key) == 31000
    assert catalogue.price_cents(db_session, product, direct, BusinessType.RENEWAL, key) == 20000
    assert catalogue.price_cents(db_session, product, direct, BusinessType.UNLOCK, key) == 0

