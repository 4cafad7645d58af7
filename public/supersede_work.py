"""A renewal's or information change's earlier certificate is superseded by the worker once the new
one is on the key (public.key_work.finish): the signing service (its own process) checks the order
and marks it. One that cannot be reached leaves the work to be tried again (web.jobs); a refusal is
final, and audited on the order."""
from __future__ import annotations

import functools

from sqlalchemy.orm import Session

from issuance.interfaces import PolicyRefused, SigningService
from models import Order, record
from web import jobs
from web.services import find_service

ACTOR = "system:worker"


def supersede_for_order(session: Session, order_id: int) -> jobs.Writes | None:
    """Ask the signing service to supersede the order's earlier certificate (no write lock held meanwhile)."""
    order = session.get(Order, order_id)
    if order is None or order.certificate_id is None:
        return None
    try:
        find_service(SigningService).supersede_for_order(order.number)
    except PolicyRefused as refused:
        return functools.partial(_refused, order_id=order_id, rule=refused.rule, message=refused.message)
    return None


def _refused(session: Session, *, order_id: int, rule: str, message: str) -> None:
    record(session, ACTOR, "certificate.supersession_refused", order=session.get(Order, order_id),
           after={"rule": rule}, note=message[:1000])
