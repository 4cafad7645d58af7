"""Where a CA needs two senior reviewers: revocations, and information changes that touch
the organisation's name or its legal representative, or a personal certificate holder's name or ID."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from models import BusinessType, Order, OrderStatus
from models.holders import same_applicant

_DONE = (OrderStatus.APPROVED, OrderStatus.PROGRAMMING, OrderStatus.PROGRAMMED, OrderStatus.SHIPPED,
         OrderStatus.COMPLETED)


def last_approved_order(session: Session, order: Order) -> Order | None:
    """The organisation's (by credit code) or the holder's (by ID, review.holders) last approved order
    other than `order` and not a revocation: the data its current certificate was issued on. A personal
    order that changes the holder's ID finds none by the new ID: the order it continues is that one."""
    found = session.scalar(
        same_applicant(select(Order), order)
        .where(Order.id != order.id, Order.status.in_(_DONE), Order.business_type != BusinessType.REVOCATION)
        .options(*(joinedload(whose) for whose in (Order.organisation, Order.legal_rep, Order.agent)))
        .order_by(Order.id.desc()).limit(1))
    if found is None and order.personal:
        earlier = order.previous_order
        return earlier if earlier is not None and earlier.status in _DONE else None
    return found


def changed_identity(session: Session, order: Order) -> list[str]:
    """Which of name / legal representative an information change alters (of a personal certificate:
    the holder's name / ID), compared with the last approved order (the data its current certificate was
    issued on); nothing for the other business types."""
    if order.business_type != BusinessType.INFO_CHANGE:
        return []
    previous = last_approved_order(session, order)
    if order.personal:
        if previous is None:
            return ["holder_name", "holder_id"]
        return [change for change, differs in (
            ("holder_name", previous.holder.name != order.holder.name),
            ("holder_id", previous.holder.subject_serial != order.holder.subject_serial)) if differs]
    if previous is None:
        return ["organisation_name", "legal_rep"]  # nothing to compare with: treat as changed
    changed = []
    if previous.organisation.name != order.organisation.name:
        changed.append("organisation_name")
    if (previous.legal_rep.name != order.legal_rep.name
            or previous.legal_rep.id_number_digest != order.legal_rep.id_number_digest):
        changed.append("legal_rep")
    return changed


def needs_dual_control(order: Order, identity_changes: list[str]) -> bool:
    """Revocations, and orders whose `changed_identity` is not empty."""
    return order.business_type == BusinessType.REVOCATION or bool(identity_changes)
