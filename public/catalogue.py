"""What a channel offers and what it costs."""
from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import BusinessType, CertKind, Channel, ChannelProduct, MediaModel, Price, Product
from models.channel import hash_api_key


class UnknownChannel(LookupError):
    pass


def channel_by_code(session: Session, code: str) -> Channel:
    channel = session.scalar(select(Channel).where(Channel.code == code, Channel.active))
    if channel is None:
        raise UnknownChannel(code)
    return channel


def channel_by_api_key(session: Session, key: str) -> Channel | None:
    return session.scalar(
        select(Channel).where(Channel.api_key_hash == hash_api_key(key), Channel.active)
    )


def create_channel(session: Session, name: str, code: str | None = None) -> tuple[Channel, str]:
    code = code or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "channel"
    channel = Channel(code=code, name=name)
    key = channel.issue_api_key()
    session.add(channel)
    session.flush()
    return channel, key


def products_for(session: Session, channel: Channel, cert_kind: CertKind | None = None) -> list[Product]:
    """A channel with restrictions offers only those products; otherwise all active ones (of one kind
    of certificate, unit or personal, where a form asks)."""
    query = select(Product).where(Product.active).order_by(Product.id)
    if cert_kind is not None:
        query = query.where(Product.cert_kind == cert_kind)
    if channel.restrictions:
        query = query.join(ChannelProduct).where(ChannelProduct.channel_id == channel.id)
    return list(session.scalars(query))


def media_models(session: Session) -> list[MediaModel]:
    return list(session.scalars(select(MediaModel).where(MediaModel.active).order_by(MediaModel.id)))


def listing(session: Session, channel: Channel) -> dict:
    """The codes an application takes (products, key models) with what each business type
    costs through this channel, for the channel API."""
    media = media_models(session)
    products = []
    for product in products_for(session, channel):
        prices = {}
        for business_type in BusinessType:
            try:
                prices[business_type.value] = price_cents(session, product, channel, business_type, None)
            except LookupError:
                continue  # not offered for this business type
        products.append({"code": product.code, "name": product.name, "name_en": product.name_en,
                         "cert_kind": product.cert_kind.value, "validity_months": product.validity_months,
                         "prices_cents": prices})
    return {"products": products,
            "media_models": [{"code": m.code, "name": m.name, "name_en": m.name_en or m.name,
                              "price_cents": m.price_cents} for m in media]}


# Business types that put a new key in the post, so a key bought from the CA is charged.
NEW_KEY = frozenset({BusinessType.NEW, BusinessType.REPLACEMENT})


def price_cents(
    session: Session,
    product: Product,
    channel: Channel,
    business_type: BusinessType,
    media: MediaModel | None,
) -> int:
    """What an order costs, by `choose_price` from the catalogue's rows."""
    prices = session.scalars(
        select(Price).where(
            Price.product_id == product.id,
            Price.business_type == business_type,
            (Price.channel_id == channel.id) | Price.channel_id.is_(None),
        )
    )
    table = {(p.product_id, p.channel_id, p.business_type): p.amount_cents for p in prices}
    return choose_price(table, product.id, channel.id, business_type, media.price_cents if media else 0)


def choose_price(prices: Mapping[tuple[int, int | None, BusinessType], int], product_id: int, channel_id: int,
                 business_type: BusinessType, key_cents: int) -> int:
    """The pricing rule over (product id, channel id or None, business type) -> cents: the
    channel's own price for the business type where set, else the product's; plus the key
    where a new one is sent. Unlocking is free. LookupError when no price applies."""
    if business_type is BusinessType.UNLOCK:
        return 0
    for channel in (channel_id, None):  # channel price wins
        if (product_id, channel, business_type) in prices:
            key = key_cents if business_type in NEW_KEY else 0
            return prices[(product_id, channel, business_type)] + key
    raise LookupError(f"no price for product {product_id} / {business_type}")
