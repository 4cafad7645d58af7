"""The audit log: who did what to which order, with the state before and after.

Entries form a hash chain (each carries the hash of the one before it, in `seq`
order); `models.audit_chain` fills the chain at flush time and verifies it.
The chain head is sealed with a key kept outside the database (AuditSeal).
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, created, intpk, str40, str120

if TYPE_CHECKING:
    from models.order import Order


class AuditEntry(Base):
    __tablename__ = "audit_entry"
    # Counting one staff member's recent actions of a kind (e.g. numbers revealed this hour).
    __table_args__ = (Index("ix_audit_entry_actor_action_at", "actor", "action", "at"),)

    id: Mapped[intpk]
    # Position in the chain; contiguous, so a removed row leaves a visible gap.
    seq: Mapped[int | None] = mapped_column(unique=True)
    at: Mapped[created]
    actor: Mapped[str120]
    action: Mapped[str40] = mapped_column(index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id"), index=True)
    # What else the entry is about when it is not (only) an order: "staff:wang", "material:12".
    target: Mapped[str120 | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    entry_hash: Mapped[str | None] = mapped_column(String(64))

    order: Mapped[Order | None] = relationship(back_populates="audit_entries")


class AuditChainHead(Base):
    """One row: the last link of the chain. Writers lock it, so the chain has one order."""

    __tablename__ = "audit_chain_head"

    id: Mapped[intpk]
    seq: Mapped[int] = mapped_column(default=0)
    entry_hash: Mapped[str] = mapped_column(String(64))
    # HMAC of (seq, entry_hash) with the seal key, renewed with every append: without the key
    # nobody can move the head, so entries written since the last seal cannot be rewritten.
    mac: Mapped[str | None] = mapped_column(String(64))


class AuditSeal(Base):
    """An HMAC over the chain head, made with a key the database never holds."""

    __tablename__ = "audit_seal"

    id: Mapped[intpk]
    sealed_at: Mapped[dt.datetime]
    head_seq: Mapped[int]
    head_hash: Mapped[str] = mapped_column(String(64))
    prev_mac: Mapped[str | None] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str40]


def record(session, actor: str, action: str, *, order: Order | None = None,
           target: str | None = None, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, note: str | None = None) -> AuditEntry:
    """Write one audit entry (linked into the chain when its transaction commits)."""
    entry = AuditEntry(actor=actor, action=action, order=order, target=target,
                       before=before, after=after, note=note)
    session.add(entry)
    return entry
