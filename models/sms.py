"""SMS verification codes and the outbox of messages sent through the gateway."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created, intpk, str20, str40, str64
from models.delivery import Outgoing
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


class SmsMessage(Outgoing, Base):
    """One message in the outbox: its text as the applicant reads it, and the provider's template
    code with its parameters, which is what a Chinese carrier takes. A message carrying a secret
    keeps its text sealed; the parameters are always sealed (they hold the codes and passwords)."""

    __tablename__ = "sms_message"

    id: Mapped[intpk]
    phone: Mapped[str20] = mapped_column(index=True)
    template: Mapped[str40]  # the kind of message: templates/sms/<template>.txt
    template_code: Mapped[str40 | None]  # the provider's code for it when queued (none on older rows)
    body: Mapped[str | None] = mapped_column(Text)
    sealed_body: Mapped[str | None] = mapped_column(SealedText("sms_message.body"))
    sealed_params: Mapped[str | None] = mapped_column(SealedText("sms_message.params"))
    carries_secret: Mapped[bool] = mapped_column(default=False)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id"), index=True)
    # A verification code's message is worth nothing once the code expired: never sent after this.
    expires_at: Mapped[dt.datetime | None]
    provider_ref: Mapped[str40 | None]
    created_at: Mapped[created]

    @property
    def text(self) -> str:
        return self.sealed_body if self.carries_secret else (self.body or "")

    @property
    def params(self) -> dict[str, str]:
        return json.loads(self.sealed_params) if self.sealed_params else {}
