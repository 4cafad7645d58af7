"""Payment as the applicant side sees it: a paid order goes to the reviewers' queue.

Billing records the money; putting the order in its review queue is the review area's
operation, called here, above both."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from billing import checkout
from billing.checkout import Settlement
from billing.services import BillingServices
from models import Order, OrderStatus
from review import operations as review_operations


def record_notification(session: Session, services: BillingServices, params: dict[str, str], *,
                        now: dt.datetime) -> Settlement:
    settlement = checkout.receive_notification(session, services, params, now=now)
    _to_review(session, settlement, now)
    return settlement


def check_payment(session: Session, services: BillingServices, order: Order, *, now: dt.datetime) -> None:
    """While the applicant waits on the payment page: ask the provider in case the
    notification is late or lost."""
    settlement = checkout.check_with_provider(session, services, order, now=now)
    if settlement is not None:
        _to_review(session, settlement, now)


def cancel_unpaid(session: Session, services: BillingServices, order: Order, *, now: dt.datetime) -> bool:
    """Cancel an order unpaid after the payment window (True), unless it turns out paid."""
    settlement = checkout.cancel_unpaid(session, services, order, now=now)
    if settlement is not None:
        _to_review(session, settlement, now)
    return settlement is None


def _to_review(session: Session, settlement: Settlement, now: dt.datetime) -> None:
    if settlement.newly_paid:
        review_operations.enqueue_paid_order(session, settlement.order, now)


def enter_review(session: Session, order_id: int) -> None:
    """Work item billing.transfers.MATCHED: the order whose bank transfer finance matched enters
    its review queue, its clock started when it was paid."""
    order = session.get(Order, order_id)
    if order is not None and order.status is OrderStatus.PAID and order.queue is None:
        review_operations.enqueue_paid_order(session, order, order.paid_at)
