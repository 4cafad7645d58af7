"""Three demo applications waiting for review made to carry what the review screen warns of (a deny-list
match, a phone shared between organisations, a second open order of one credit code)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import BusinessType, DenyListEntry, Order, OrderStatus
from models.batches import batches
from models.order_state import CertKind

CHUNK = 5000  # order ids in one IN (...)


def risk_examples(session: Session, order_ids: list[int]) -> dict[str, str]:
    """Three applications waiting for review carry what the review screen warns of: a legal
    representative on the deny list, an agent's phone shared with two unrelated organisations, and a
    second open order for one organisation's credit code. The order numbers, by warning."""
    waiting: list[Order] = []
    # A chunk of ids at a time: PostgreSQL takes at most 65,535 parameters in one statement.
    for chunk in batches(order_ids, CHUNK):
        waiting += session.scalars(select(Order).where(Order.id.in_(chunk),
                                                       Order.status == OrderStatus.PAID,
                                                       Order.business_type == BusinessType.NEW,
                                                       Order.cert_kind == CertKind.UNIT)
                                   .order_by(Order.id).limit(6 - len(waiting))).all()
        if len(waiting) == 6:
            break
    if len(waiting) < 6:
        return {}
    denied, shared, *others, again, first = waiting
    person = denied.legal_rep
    if not session.scalar(select(DenyListEntry.id).where(DenyListEntry.id_number_digest == person.id_number_digest)):
        session.add(DenyListEntry(id_number=person.id_number, reason="演示：冒用他人身份申请（已报案）",
                                  added_by="staff:admin"))
    for order in others:
        order.agent.phone = shared.agent.phone
    # The same organisation applying twice: its name, code and region, as its first application has them.
    mine, theirs = again.organisation, first.organisation
    mine.name, mine.credit_code = theirs.name, theirs.credit_code
    mine.region_province, mine.region_city = theirs.region_province, theirs.region_city
    for column in ("account_name", "account_number", "bank_name", "bank_province", "bank_city",
                   "invoice_taxpayer_id"):
        setattr(again, column, getattr(first, column))
    session.flush()
    return {"deny_list": denied.number, "phone_reused": shared.number, "open_order": again.number}
