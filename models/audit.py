"""The audit log: who did what to which order, with the state before and after."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, created, intpk, str40, str120

if TYPE_CHECKING:
    from models.order import Order


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    id: Mapped[intpk]
    at: Mapped[created]
    actor: Mapped[str120]
    action: Mapped[str40] = mapped_column(index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id"), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)

    order: Mapped[Order | None] = relationship(back_populates="audit_entries")


