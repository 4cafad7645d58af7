"""Where a CA needs two senior reviewers: revocations, and information changes that touch
the organisation's name or its legal representative."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import BusinessType, Order, OrderStatus, Organisation

_DONE = (OrderStatus.APPROVED, OrderStatus.PROGRAMMING, OrderStatus.PROGRAMMED, OrderStatus.SHIPPED,
         OrderStatus.COMPLETED)


def last_approved_order(session: Session, order: Order) -> Order | None:
    """The organisation's (by credit code) last approved order other than `order` and not a
    revocation: the data its current certificate was issued on."""
    return session.scalar(
        select(Order).join(Organisation, Order.organisation_id == Organisation.id)
        .where(Organisation.credit_code == order.organisation.credit_code, Order.id != order.id,
               Order.status.in_(_DONE), Order.business_type != BusinessType.REVOCATION)
        .order_by(Order.id.desc()).limit(1))


def changed_identity(session: Session, order: Order) -> list[str]:
    """Which of name / legal representative an information change alters, compared with the
    organisation's last approved order (the data its current certificate was issued on);
    nothing for the other business types."""
    if order.business_type != BusinessType.INFO_CHANGE:
        return []
    previous = last_approved_order(session, order)
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
