"""Where a message of an outbox (an SMS, an e-mail, a 0.01-yuan transfer) stands in its delivery.

The outboxes promise that what was committed is delivered, or that somebody is told it was not:
a row is tried when it is due (`next_attempt_at`), again on a schedule after a failure, and
ends sent or, after the last attempt, failed, which the order page flags. Terminal rows have
no `next_attempt_at`, so "due" is one indexed comparison. A message sent again by hand is a new
row of its outbox that names the one it copies (`resent_from_id`).
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from models.base import enum_type, utcnow


class Delivery(enum.StrEnum):
    QUEUED = "queued"  # waits for an attempt at next_attempt_at: the first, or another after a failure
    SENDING = "sending"  # one sender claimed it; due again at next_attempt_at if it never tells the outcome
    SENT = "sent"
    FAILED = "failed"  # the last attempt failed: nothing more is tried, a person acts
    UNKNOWN = "unknown"  # a transfer the bank did not answer for: asked about by its request number first
    EXPIRED = "expired"  # a code's SMS not out before the code expired: sending it would only confuse


class Outgoing:
    """The delivery columns every outbox row has."""

    status: Mapped[Delivery] = mapped_column(enum_type(Delivery, 12), default=Delivery.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    # Due from the moment it is queued; None once nothing more will be tried.
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(default=utcnow, index=True)
    error: Mapped[str | None] = mapped_column(Text)  # of the last attempt
    sent_at: Mapped[dt.datetime | None]

    @declared_attr
    def resent_from_id(cls) -> Mapped[int | None]:
        """The message of the same outbox this one is a copy of, sent again by hand (indexed: the
        notification centre shows an original's copies beside it)."""
        return mapped_column(ForeignKey(f"{cls.__tablename__}.id"), index=True)

    @property
    def needs_a_person(self) -> bool:
        """Given up: failed after the last attempt, or a transfer whose outcome the bank never told."""
        return self.status == Delivery.FAILED or (self.status == Delivery.UNKNOWN and self.next_attempt_at is None)
