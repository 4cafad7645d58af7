"""Context beside the review: the organisation's (or the holder's) earlier orders with their certificates, and the
internal notes staff keep on an order for each other (never shown to the applicant; each one
added is audited, its text kept in the note row)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from models import (
    REVIEW_ROLES,
    BusinessType,
    Certificate,
    Order,
    OrderNote,
    OrderStatus,
    Staff,
    StaffRole,
    record,
)
from models.holders import same_applicant
from review.operations import ReviewError
from web.errors import N_, InvalidValue
from web.text import plain_text

NOTE_MAX_LENGTH = 1000
# Who may add a note: whoever works on orders (the order page may become readable beyond review).
NOTE_WRITERS = (*sorted(REVIEW_ROLES), StaffRole.ADMIN, StaffRole.FULFILLMENT, StaffRole.FINANCE)


@dataclass(frozen=True)
class EarlierOrder:
    number: str
    business_type: BusinessType
    status: OrderStatus
    created_at: dt.datetime
    completed_at: dt.datetime | None
    certificates: list[Certificate] = field(default_factory=list)


def earlier_orders(session: Session, order: Order, limit: int = 20) -> list[EarlierOrder]:
    """The same organisation's (by credit code) or holder's (by the ID's subject serial) other orders, newest
    first, with their certificates."""
    rows = session.execute(
        same_applicant(select(Order.id, Order.number, Order.business_type, Order.status, Order.created_at,
                              Order.completed_at), order)
        .where(Order.id != order.id)
        .order_by(Order.created_at.desc(), Order.id.desc()).limit(limit)).all()
    issued: dict[int, list[Certificate]] = {}
    if rows:
        for certificate in session.scalars(select(Certificate).where(Certificate.order_id.in_([r.id for r in rows]))
                                           .order_by(Certificate.id)):
            issued.setdefault(certificate.order_id, []).append(certificate)
    return [EarlierOrder(r.number, r.business_type, r.status, r.created_at, r.completed_at, issued.get(r.id, []))
            for r in rows]


def notes(session: Session, order: Order) -> list[OrderNote]:
    """The internal notes on an order, oldest first, with their authors."""
    return list(session.scalars(select(OrderNote).options(joinedload(OrderNote.staff))
                                .where(OrderNote.order_id == order.id)
                                .order_by(OrderNote.created_at, OrderNote.id)))


def clean_note(text: str) -> str:
    """The note as stored: line breaks as LF, no surrounding whitespace; refuses control and
    invisible characters, an empty note and one longer than NOTE_MAX_LENGTH characters."""
    text = plain_text((text or "").replace("\r\n", "\n"), multiline=True).strip()
    if not text:
        raise InvalidValue(N_("The note is empty."))
    if len(text) > NOTE_MAX_LENGTH:
        raise InvalidValue(N_("A note holds at most %(max)s characters."), max=NOTE_MAX_LENGTH)
    return text


def add_note(session: Session, order: Order, staff: Staff, text: str) -> OrderNote:
    """Keep a note on the order (audited: who, which order, which note)."""
    if not staff.active or staff.role not in NOTE_WRITERS:
        raise ReviewError(N_("You may not add notes to orders."))
    note = OrderNote(order_id=order.id, staff_id=staff.id, text=clean_note(text))
    session.add(note)
    session.flush()
    record(session, staff.actor, "order.note_added", order=order, after={"note_id": note.id})
    return note
