"""The money side of the demo applications: for every order the loader took past payment,
what the product would have made by now, at the times of the order's history.

Its trade opens in the sandbox provider's ledger when the order is signed and is paid when the
order was; its payment is recorded, and the blue invoice issued on payment (PDF and e-mail to
the agent). A rejected order gets the refund its rejection proposed; finance confirmed and sent
it REFUND_CONFIRMED_AFTER later if that moment has passed, which reverses the invoice with a red one.

The billing operations themselves do this, one event at a time in time order, so the sandbox
issuer's invoice numbers follow the dates. That costs some 100 ms an order, most of it the invoice
PDF and the rest mostly the sandbox ledger's own transactions: fine for the few hundred orders of
`make run`, too slow for a load of 100,000. Orders that are free of charge have nothing to pay, as
in the product; unpaid and cancelled orders get nothing. Sandbox provider and issuer only: a real
provider would take money and a real platform would number real invoices.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event, exists, select
from sqlalchemy.orm import Session, scoped_session, selectinload

from billing import checkout, invoices, refunds
from billing.payments.sandbox import SandboxProvider
from billing.services import BillingServices
from models import (
    AuditEntry,
    Decision,
    EmailMessage,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    ReviewDecision,
    SmsMessage,
    Staff,
    StaffRole,
)
from models.business_time import BUSINESS_TZ
from models.order_state import UNPAID

REFUND_CONFIRMED_AFTER = dt.timedelta(days=2)
PAST_PAYMENT = frozenset(OrderStatus) - UNPAID - {OrderStatus.CANCELLED}
# The columns the rows made by the operations take from the clock, not from the `now` they are given.
_CREATED_AT = {AuditEntry: "at", Payment: "created_at", Refund: "requested_at", EmailMessage: "created_at",
               SmsMessage: "created_at"}


class _Clock:
    """The moment being replayed, for the sandbox provider and for the rows the operations add."""

    at: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.at.astimezone(BUSINESS_TZ)


def check_services(services: BillingServices) -> None:
    """ValueError unless the provider and the invoice issuer are the sandboxes."""
    if not isinstance(services.provider, SandboxProvider) or services.issuer.name != "sandbox":
        raise ValueError("demo payments need the sandbox payment provider and the sandbox invoice issuer")


def bill_demo_orders(session: Session, services: BillingServices, *, now: dt.datetime) -> dict[str, int]:
    """Give the orders past payment without a payment theirs, as described above; returns what was
    made. Flushes, does not commit; mails and SMS wait in the outbox for the caller to deliver."""
    check_services(services)
    clock = _Clock()
    provider = services.provider
    services = dataclasses.replace(services, provider=SandboxProvider(
        provider.ledger_path, delay_seconds=provider.delay_seconds, app_id=provider.app_id, now=clock))
    finance = session.scalars(select(Staff).where(Staff.role == StaffRole.FINANCE, Staff.active)
                              .order_by(Staff.id)).first()
    made: Counter[str] = Counter()
    events: list[tuple[dt.datetime, int, Callable[[], str]]] = []
    for order in _unbilled(session):
        events.append((order.paid_at, order.id, lambda o=order: _pay(session, services, clock, o)))
        if order.status is OrderStatus.REJECTED:
            events.append((order.rejected_at, order.id, lambda o=order: _propose_refund(session, o)))
            confirmed_at = order.rejected_at + REFUND_CONFIRMED_AFTER
            if finance is not None and confirmed_at <= now:
                events.append((confirmed_at, order.id, lambda o=order, at=confirmed_at: _send_refund(
                    session, services, finance, o, at)))
    with _stamped(session, clock):
        for at, _order_id, happen in sorted(events, key=lambda e: e[:2]):
            clock.at = at
            made[happen()] += 1
            session.flush()  # while the clock still shows the moment, for the rows not flushed yet
    return dict(made)


def _unbilled(session: Session) -> list[Order]:
    """Orders past payment, not free, with no payment: the loader's rows (the product pays an order
    and records its payment in one transaction), in payment order."""
    return list(session.scalars(
        select(Order).where(Order.status.in_(PAST_PAYMENT), Order.price_cents > 0,
                            ~exists().where(Payment.order_id == Order.id))
        .order_by(Order.paid_at, Order.id)
        .options(selectinload(Order.product), selectinload(Order.organisation), selectinload(Order.agent))))


def _pay(session: Session, services: BillingServices, clock: _Clock, order: Order) -> str:
    """The trade opened at signing and paid at the order's payment, then its invoice."""
    clock.at = order.signed_at
    payment = checkout.ensure_payment(session, services, order)
    services.provider.precreate(payment.out_trade_no, payment.amount_cents, checkout.trade_subject(order),
                                services.notify_url, expires_at=services.payment_deadline(order))
    clock.at = order.paid_at
    notification = services.provider.verify_notification(services.provider.pay(payment.out_trade_no)[0])
    payment.status, payment.trade_no, payment.paid_at = (PaymentStatus.PAID, notification.trade_no,
                                                         notification.paid_at)
    with _as_it_stood(order, OrderStatus.PAID):
        invoices.issue_blue_invoice(session, services, order, actor=f"payment:{services.provider_name}",
                                    now=clock.at)
    return "paid and invoiced"


def _propose_refund(session: Session, order: Order) -> str:
    rejected_by = session.scalar(select(Staff).join(ReviewDecision, ReviewDecision.staff_id == Staff.id).where(
        ReviewDecision.order_id == order.id, ReviewDecision.decision == Decision.REJECT))
    # Without review staff the loader names the demo reviewer `flask demo load` creates.
    refunds.propose_refund_for_rejected(session, order, actor=rejected_by.actor if rejected_by else "staff:reviewer")
    return "refunds proposed"


def _send_refund(session: Session, services: BillingServices, finance: Staff, order: Order,
                 at: dt.datetime) -> str:
    refund = checkout.payment_of(session, order).refund
    refunds.confirm_refund(session, services, refund, finance, now=at)
    # The product leaves the red invoice to a worker, which makes it a moment later: here, at the
    # moment replayed (the worker then finds nothing left to do).
    invoices.issue_red_invoice(session, services, invoices.active_blue_invoice(session, order),
                               actor=refund.confirmed_by.actor, now=at)
    return "refunds sent"


@contextmanager
def _as_it_stood(order: Order, status: OrderStatus) -> Iterator[None]:
    """The order in the status it had at the moment replayed (a rejected order was invoiced while it
    waited for review), then back in its own, with its own time of last change."""
    final, changed = order.status, order.updated_at
    order.status = status
    try:
        yield
    finally:
        order.status, order.updated_at = final, changed


@contextmanager
def _stamped(session: Session, clock: _Clock) -> Iterator[None]:
    """New rows get the replayed moment where a column default would stamp the present."""
    def stamp(flushing: Session, _context, _instances) -> None:
        for row in flushing.new:
            column = _CREATED_AT.get(type(row))
            if column and getattr(row, column) is None:
                setattr(row, column, clock.at)

    target = session.registry() if isinstance(session, scoped_session) else session
    event.listen(target, "before_flush", stamp)
    try:
        yield
    finally:
        event.remove(target, "before_flush", stamp)
