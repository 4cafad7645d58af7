"""What a channel offers and what it costs."""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import BusinessType, Channel, ChannelProduct, MediaModel, Price, Product
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


def products_for(session: Session, channel: Channel) -> list[Product]:
    """A channel with restrictions offers only those products; otherwise all active ones."""
    query = select(Product).where(Product.active).order_by(Product.id)
    if channel.restrictions:
        query = query.join(ChannelProduct).where(ChannelProduct.channel_id == channel.id)
    return list(session.scalars(query))


def media_models(session: Session) -> list[MediaModel]:
    return list(session.scalars(select(MediaModel).where(MediaModel.active).order_by(MediaModel.id)))


# Business types that put a new key in the post, so a key bought from the CA is charged.
NEW_KEY = frozenset({BusinessType.NEW, BusinessType.REPLACEMENT})


def price_cents(
    session: Session,
    product: Product,
    channel: Channel,
    business_type: BusinessType,
    media: MediaModel | None,
) -> int:
    """The channel's own price for the business type where set, else the product's; plus the
    key where a new one is sent. Unlocking is free."""
    if business_type is BusinessType.UNLOCK:
        return 0
    prices = session.scalars(
        select(Price).where(
            Price.product_id == product.id,
            Price.business_type == business_type,
            (Price.channel_id == channel.id) | Price.channel_id.is_(None),
        )
    ).all()
    if not prices:
        raise LookupError(f"no price for {product.code} / {business_type}")
    chosen = min(prices, key=lambda p: p.channel_id is None)  # channel price wins
    key = media.price_cents if media and business_type in NEW_KEY else 0
    return chosen.amount_cents + key
