"""Paying an order: its one trade at the provider, notifications, polling and cancellation.

An order has one trade, numbered with the order number, so the provider itself refuses a
second payment for it. Every change of a payment's status is a conditional UPDATE from the
status it must have, so of two notifications (or a notification and a poll) arriving at
once exactly one pays the order; the other finds nothing to change.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing import invoice_work, refunds
from billing.payments.interfaces import (
    BadNotification,
    BadSignature,
    ProviderError,
    TradeState,
    TradeStatus,
)
from billing.services import BillingError, BillingServices
from models import (
    NotificationOutcome,
    Order,
    OrderStatus,
    Payment,
    PaymentNotification,
    PaymentStatus,
    RefundReason,
    record,
)
from models.base import update_if
from models.business import PAID_BY_TRANSFER
from web import jobs
from web.errors import N_

log = logging.getLogger(__name__)
MAX_FIELDS = 64
UNVERIFIED_FIELDS = ("app_id", "seller_id", "out_trade_no", "trade_no", "trade_status", "total_amount",
                     "gmt_payment", "notify_id", "notify_time", "sign_type")
PAID_STATES = frozenset({TradeState.TRADE_SUCCESS, TradeState.TRADE_FINISHED})


@dataclass(frozen=True)
class Settlement:
    outcome: NotificationOutcome
    order: Order | None = None

    @property
    def newly_paid(self) -> bool:
        return self.outcome is NotificationOutcome.ACCEPTED


def payment_of(session: Session, order: Order) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.order_id == order.id))


def ensure_payment(session: Session, services: BillingServices, order: Order) -> Payment:
    """The order's one trade, made when it starts waiting for payment."""
    if order.price_cents <= 0:
        raise BillingError(N_("This order is free of charge: there is nothing to pay."))
    payment = payment_of(session, order)
    if payment is None:
        payment = Payment(order_id=order.id, provider=services.provider_name, out_trade_no=order.number,
                          amount_cents=order.price_cents, status=PaymentStatus.PENDING)
        session.add(payment)
        session.flush()
    return payment


def payment_qr_code(session: Session, services: BillingServices, order: Order) -> tuple[Payment, str]:
    """The trade and the QR code to pay it. Asking again answers the same trade: the
    provider treats a repeated precreate of an unpaid trade as the same one."""
    if order.status is not OrderStatus.AWAITING_PAYMENT:
        raise BillingError(N_("This order is not waiting for payment."))
    if order.business_type in PAID_BY_TRANSFER:
        raise BillingError(N_("This order is paid by a bank transfer made beforehand: finance matches it, there "
                              "is no QR code."))
    payment = ensure_payment(session, services, order)
    try:
        # The trade stays open as long as the order waits; the provider closes it at the deadline.
        trade = services.provider.precreate(payment.out_trade_no, payment.amount_cents, trade_subject(order),
                                            services.notify_url, expires_at=services.payment_deadline(order))
    except ProviderError as exc:
        log.warning("precreate %s failed: %s", payment.out_trade_no, exc)
        raise BillingError(N_("The payment service is not available right now. Please try again in a minute.")) from exc
    return payment, trade.qr_code


def trade_subject(order: Order) -> str:
    return f"数字证书 {order.product.name} 订单{order.number}"


def receive_notification(session: Session, services: BillingServices, params: dict[str, str], *,
                         now: dt.datetime) -> Settlement:
    """Check and log one asynchronous notification, and pay the order if it says so."""
    entry = PaymentNotification(
        provider=services.provider_name, params=_unverified(params),
        out_trade_no=_short(params.get("out_trade_no")), notify_id=_short(params.get("notify_id")),
        trade_status=_short(params.get("trade_status"), 24), outcome=NotificationOutcome.MALFORMED)
    session.add(entry)
    try:
        notification = services.provider.verify_notification(params)
    except BadSignature as exc:
        return _logged(entry, NotificationOutcome.BAD_SIGNATURE, str(exc))
    except BadNotification as exc:
        return _logged(entry, NotificationOutcome.MALFORMED, str(exc))
    entry.amount_cents, entry.params = notification.amount_cents, _as_received(params)
    payment = session.scalar(select(Payment).where(Payment.out_trade_no == notification.out_trade_no))
    if payment is None:
        return _logged(entry, NotificationOutcome.UNKNOWN_TRADE, "no order has this trade number")
    if notification.status not in PAID_STATES:
        return _logged(entry, NotificationOutcome.IGNORED, f"trade state {notification.status}", payment.order)
    if notification.amount_cents != payment.amount_cents:
        return _logged(entry, NotificationOutcome.AMOUNT_MISMATCH,
                       f"paid {notification.amount_cents} cents, the order costs {payment.amount_cents}",
                       payment.order)
    settlement = settle(session, services, payment, notification.trade_no, notification.paid_at or now,
                        actor=f"payment:{services.provider_name}", now=now)
    return _logged(entry, settlement.outcome, None, settlement.order)


def _as_received(params: dict[str, str]) -> dict[str, str]:
    """A verified notification as kept for finance (an Alipay one has some 30 short fields)."""
    return {str(k)[:64]: str(v)[:1024] for k, v in list(params.items())[:MAX_FIELDS]}


def _unverified(params: dict[str, str]) -> dict[str, str]:
    """What is kept of a post that may not come from the provider (anyone can post to the
    endpoint): the fields finance reads, short, and a digest of the whole."""
    whole = json.dumps(params, sort_keys=True, ensure_ascii=False).encode()
    kept = {k: str(params[k])[:128] for k in UNVERIFIED_FIELDS if k in params}
    return {**kept, "sha256": hashlib.sha256(whole).hexdigest(), "fields": str(len(params))}


def _short(value: str | None, length: int = 64) -> str | None:
    return value[:length] if value else None


def _logged(entry: PaymentNotification, outcome: NotificationOutcome, detail: str | None,
            order: Order | None = None) -> Settlement:
    entry.outcome, entry.detail = outcome, detail
    if outcome in (NotificationOutcome.BAD_SIGNATURE, NotificationOutcome.AMOUNT_MISMATCH):
        log.warning("payment notification rejected (%s) for %s: %s", outcome, entry.out_trade_no, detail)
    return Settlement(outcome, order)


def check_with_provider(session: Session, services: BillingServices, order: Order, *,
                        now: dt.datetime) -> Settlement | None:
    """Ask the provider about a trade still pending here (a notification may be late or lost)."""
    payment = payment_of(session, order)
    if payment is None or payment.status is not PaymentStatus.PENDING:
        return None
    try:
        status = services.provider.query(payment.out_trade_no)
    except ProviderError as exc:
        log.warning("query %s failed: %s", payment.out_trade_no, exc)
        return None
    return _settle_if_paid(session, services, payment, status, now)


def _settle_if_paid(session: Session, services: BillingServices, payment: Payment, status: TradeStatus,
                    now: dt.datetime) -> Settlement | None:
    """What the provider answered to a query, applied: the payment settled if it says paid."""
    if status.status not in PAID_STATES or status.amount_cents != payment.amount_cents:
        return None
    return settle(session, services, payment, status.trade_no, status.paid_at or now,
                  actor=f"payment:{services.provider_name}:query", now=now)


def settle(session: Session, services: BillingServices, payment: Payment, trade_no: str | None,
           paid_at: dt.datetime, *, actor: str, now: dt.datetime) -> Settlement:
    """Record that the provider holds the money: pays a pending order (once), or refunds a
    payment for an order cancelled in the meantime."""
    values = {"trade_no": trade_no, "paid_at": paid_at}
    if _moved(session, payment, PaymentStatus.PENDING, PaymentStatus.PAID, **values):
        order = payment.order
        order.move_to(OrderStatus.PAID, actor, note=f"trade {trade_no}")
        jobs.enqueue(session, invoice_work.BLUE, order.id)
        return Settlement(NotificationOutcome.ACCEPTED, order)
    if _moved(session, payment, PaymentStatus.CLOSED, PaymentStatus.PAID, **values):
        order = payment.order
        record(session, actor, "payment.late", order=order, note=f"trade {trade_no}: the order was cancelled")
        refund = refunds.propose_refund(session, payment, RefundReason.LATE_PAYMENT, actor=actor, confirmed_at=now)
        refunds.execute_refund(session, services, refund, actor=actor, now=now)
        return Settlement(NotificationOutcome.LATE, order)
    return Settlement(NotificationOutcome.DUPLICATE, payment.order)


def _moved(session: Session, payment: Payment, source: PaymentStatus, target: PaymentStatus, **values) -> bool:
    return update_if(session, payment, Payment.status == source, status=target, **values)


def overdue_orders(session: Session, services: BillingServices, now: dt.datetime) -> list[int]:
    """Ids of orders still unpaid a payment window after they were signed. An order paid by a bank
    transfer made beforehand is not among them: finance matches its proof or refuses it
    (billing.transfers), however long the statement takes."""
    return list(session.scalars(
        select(Order.id).where(Order.status == OrderStatus.AWAITING_PAYMENT,
                               Order.business_type.not_in(PAID_BY_TRANSFER),
                               Order.signed_at <= now - services.payment_window).order_by(Order.id)))


def cancel_unpaid(session: Session, services: BillingServices, order: Order, *,
                  now: dt.datetime) -> Settlement | None:
    """Close the order's trade at the provider, then cancel the order. Answers None when the
    order was cancelled; if the provider says the trade was paid after all, the payment is
    recorded instead and its settlement answered."""
    if order.status is not OrderStatus.AWAITING_PAYMENT:
        return Settlement(NotificationOutcome.IGNORED, order)
    payment = payment_of(session, order)
    if payment is not None:
        try:
            services.provider.close(payment.out_trade_no)
        except ProviderError as exc:
            # Paid after all, or closed already (a run that crashed before its commit)?
            try:
                status = services.provider.query(payment.out_trade_no)
            except ProviderError:
                raise BillingError(N_("The trade could not be closed: %(error)s"), error=str(exc)) from exc
            settlement = _settle_if_paid(session, services, payment, status, now)
            if settlement is not None:
                return settlement
            if status.status not in (TradeState.TRADE_CLOSED, TradeState.NOT_FOUND):
                raise BillingError(N_("The trade could not be closed: %(error)s"), error=str(exc)) from exc
        if not _moved(session, payment, PaymentStatus.PENDING, PaymentStatus.CLOSED, closed_at=now):
            return Settlement(NotificationOutcome.IGNORED, order)
    order.move_to(OrderStatus.CANCELLED, "system:payment-window", note=f"unpaid after {services.payment_window}")
    return None
