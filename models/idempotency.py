"""The channel API's idempotency keys: a repeated call with the same key gets the first answer."""
from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created, intpk, str64


class IdempotencyRecord(Base):
    """The first answer to one channel's call under one `Idempotency-Key`, kept for a day."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("channel_id", "key"),)

    id: Mapped[intpk]
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the request (method, path and body): the same key with another body is refused.
    request_digest: Mapped[str64]
    status_code: Mapped[int]
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[created] = mapped_column(index=True)
