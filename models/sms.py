"""SMS verification codes and the outbox of messages sent through the gateway."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created, intpk, str20, str40, str64
from models.sealed import SealedText


class SmsCode(Base):
    """A one-time code sent to a phone for one purpose (e.g. signing an order)."""

    __tablename__ = "sms_code"
    # A channel's hourly budget of codes asked for through the API counts along this index.
    __table_args__ = (Index("ix_sms_code_channel_created", "channel_id", "created_at"),)

    id: Mapped[intpk]
    phone: Mapped[str20] = mapped_column(index=True)
    purpose: Mapped[str40]
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id"))
    code_hash: Mapped[str64]
    client_ip: Mapped[str40 | None] = mapped_column(index=True)
    # Set when a channel's server asked for the code through the API (counted per channel, not per IP).
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id"))
    created_at: Mapped[created]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    failed_attempts: Mapped[int] = mapped_column(default=0)


class SmsMessage(Base):
    """One message in the outbox. A message carrying a secret keeps its text sealed."""

    __tablename__ = "sms_message"

    id: Mapped[intpk]
    phone: Mapped[str20] = mapped_column(index=True)
    template: Mapped[str40]
    body: Mapped[str | None] = mapped_column(Text)
    sealed_body: Mapped[str | None] = mapped_column(SealedText("sms_message.body"))
    carries_secret: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    provider_ref: Mapped[str40 | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created]
    sent_at: Mapped[dt.datetime | None]

    @property
    def text(self) -> str:
        return self.sealed_body if self.carries_secret else (self.body or "")
