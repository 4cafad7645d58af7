"""Channels (数字证书渠道) through which orders arrive, e.g. a public resource trading centre."""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, created, intpk, str40, str120
from models.product import Product


class Channel(Base):
    __tablename__ = "channel"

    id: Mapped[intpk]
    code: Mapped[str40] = mapped_column(unique=True)
    name: Mapped[str120]
    active: Mapped[bool] = mapped_column(default=True)
    # Only the SHA-256 of the API key is kept; the key itself is shown once at creation.
    api_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[created]

    restrictions: Mapped[list[ChannelProduct]] = relationship(
        back_populates="channel", cascade="all, delete-orphan"
    )

    def issue_api_key(self) -> str:
        key = "cak_" + secrets.token_urlsafe(32)
        self.api_key_hash = hash_api_key(key)
        return key

    def __str__(self) -> str:
        return self.name


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ChannelProduct(Base):
    """A product a channel offers; a channel with none of these offers every product."""

    __tablename__ = "channel_product"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), primary_key=True)

    channel: Mapped[Channel] = relationship(back_populates="restrictions")
    product: Mapped[Product] = relationship()
