"""What the finance console lists: payments, notifications that paid nothing, refunds and
invoices, filtered and paged, as small rows for the pages and the exports; the counts of the
finance home. Queries only: no Flask, no changes.

Date filters are business days in Beijing time (``BUSINESS_TZ``), both ends included. A page
is one offset page of ``size`` rows, newest first (refunds: those waiting for finance first).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import ColumnElement, Select

from billing.invoices import blue_in_force, in_voidable_month, is_invoiceable
from billing.reconciliation import PAID_STATES
from models import (
    BANK_TRANSFER,
    BusinessType,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    NotificationOutcome,
    Order,
    Payment,
    PaymentNotification,
    PaymentStatus,
    Refund,
    RefundReason,
    RefundStatus,
    Staff,
)
from models.business_time import BUSINESS_TZ, Days, business_day_bounds
from models.holders import HOLDER_NAME, with_holder
from models.payment import REJECTED_OUTCOMES

# Notifications finance should look at: everything but those that paid an order or repeated one.
ODD_OUTCOMES = tuple(o for o in NotificationOutcome
                     if o not in (NotificationOutcome.ACCEPTED, NotificationOutcome.DUPLICATE))
PAYMENT_DATES = ("paid", "created")


def business_today(now: dt.datetime) -> dt.date:
    return now.astimezone(BUSINESS_TZ).date()


@dataclass
class Page:
    rows: list
    number: int
    size: int
    has_next: bool

    @property
    def first_row(self) -> int:
        return (self.number - 1) * self.size + 1


Filter = TypeVar("Filter")
Row = TypeVar("Row")


@dataclass(frozen=True)
class Listing(Generic[Filter, Row]):
    """One of the finance lists: its query for a filter, and the row each result becomes."""

    query: Callable[[Filter], Select]
    row: Callable[..., Row]

    def page(self, session: Session, flt: Filter, number: int, size: int) -> Page:
        found = session.execute(self.query(flt).offset((number - 1) * size).limit(size + 1)).all()
        return Page([self.row(**r._mapping) for r in found[:size]], number, size, len(found) > size)

    def rows(self, session: Session, flt: Filter) -> list[Row]:
        """Every row, for the exports."""
        return [self.row(**r._mapping) for r in session.execute(self.query(flt))]


# --- payments ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentFilter:
    days: Days = Days()
    on: str = "paid"  # which date the days apply to: one of PAYMENT_DATES
    status: PaymentStatus | None = None
    number: str | None = None  # part of the order number


@dataclass(frozen=True)
class PaymentRow:
    id: int
    order_number: str
    holder_name: str  # the organisation's, or a personal certificate's holder's
    business_type: BusinessType
    amount_cents: int
    status: PaymentStatus
    trade_no: str | None
    paid_at: dt.datetime | None
    created_at: dt.datetime
    refund_status: RefundStatus | None
    invoice_number: str | None


@dataclass
class PaymentTotals:
    count: int = 0
    cents: int = 0
    by_status: dict[PaymentStatus, tuple[int, int]] = field(default_factory=dict)


def _payment_conditions(flt: PaymentFilter) -> list[ColumnElement[bool]]:
    found = flt.days.conditions(Payment.created_at if flt.on == "created" else Payment.paid_at)
    if flt.status is not None:
        found.append(Payment.status == flt.status)
    if flt.number:
        found.append(Payment.out_trade_no.contains(flt.number, autoescape=True))
    return found


def _invoice_number_of_payment():
    """The order's blue invoice: the one in force, else the latest."""
    return (select(Invoice.number)
            .where(Invoice.order_id == Payment.order_id, Invoice.kind == InvoiceKind.BLUE)
            .order_by(case((Invoice.status == InvoiceStatus.ISSUED, 0), else_=1), Invoice.id.desc())
            .limit(1).correlate(Payment).scalar_subquery())


def _payments(flt: PaymentFilter) -> Select:
    paid = (select(Payment.id, Order.number.label("order_number"), HOLDER_NAME.label("holder_name"),
                   Order.business_type, Payment.amount_cents, Payment.status, Payment.trade_no, Payment.paid_at,
                   Payment.created_at, Refund.status.label("refund_status"),
                   _invoice_number_of_payment().label("invoice_number"))
            .join(Order, Order.id == Payment.order_id))
    return (with_holder(paid)
            .outerjoin(Refund, Refund.payment_id == Payment.id)
            .where(*_payment_conditions(flt))
            .order_by(func.coalesce(Payment.paid_at, Payment.created_at).desc(), Payment.id.desc()))


PAYMENTS = Listing(_payments, PaymentRow)


def payment_totals(session: Session, flt: PaymentFilter) -> PaymentTotals:
    totals = PaymentTotals()
    for status, count, cents in session.execute(
            select(Payment.status, func.count(), func.coalesce(func.sum(Payment.amount_cents), 0))
            .where(*_payment_conditions(flt)).group_by(Payment.status)):
        totals.by_status[status] = (count, cents)
        totals.count += count
        totals.cents += cents
    return totals


# --- notifications -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NotificationFilter:
    days: Days = Days()
    outcome: NotificationOutcome | None = None  # one of ODD_OUTCOMES
    number: str | None = None  # part of the merchant's trade number


@dataclass(frozen=True)
class NotificationRow:
    id: int
    received_at: dt.datetime
    provider: str
    out_trade_no: str | None
    trade_status: str | None
    amount_cents: int | None
    outcome: NotificationOutcome
    detail: str | None


def _notifications(flt: NotificationFilter) -> Select:
    outcomes = (flt.outcome,) if flt.outcome in ODD_OUTCOMES else ODD_OUTCOMES
    query = (select(PaymentNotification.id, PaymentNotification.received_at, PaymentNotification.provider,
                    PaymentNotification.out_trade_no, PaymentNotification.trade_status,
                    PaymentNotification.amount_cents, PaymentNotification.outcome, PaymentNotification.detail)
             .where(PaymentNotification.outcome.in_(outcomes), *flt.days.conditions(PaymentNotification.received_at))
             .order_by(PaymentNotification.received_at.desc(), PaymentNotification.id.desc()))
    if flt.number:
        query = query.where(PaymentNotification.out_trade_no.contains(flt.number, autoescape=True))
    return query


NOTIFICATIONS = Listing(_notifications, NotificationRow)


# --- refunds -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefundFilter:
    days: Days = Days()  # on the day the refund was proposed
    status: RefundStatus | None = None
    failed: bool = False  # only those the provider refused, waiting to be sent again
    number: str | None = None  # part of the order number


@dataclass(frozen=True)
class RefundRow:
    id: int
    out_request_no: str
    order_number: str
    holder_name: str
    amount_cents: int
    reason: RefundReason
    status: RefundStatus
    requested_by: str
    requested_at: dt.datetime
    confirmed_by: str | None
    confirmed_at: dt.datetime | None
    succeeded_at: dt.datetime | None
    attempts: int
    last_error: str | None
    by_transfer: bool  # paid by a bank transfer finance matched: paid back by hand

    @property
    def failed(self) -> bool:
        return self.status is RefundStatus.CONFIRMED and self.last_error is not None


def _failed_refund() -> ColumnElement[bool]:
    return (Refund.status == RefundStatus.CONFIRMED) & Refund.last_error.is_not(None)


def _refunds(flt: RefundFilter) -> Select:
    waiting_first = case((Refund.status == RefundStatus.AWAITING_CONFIRMATION, 0),
                         (Refund.status == RefundStatus.CONFIRMED, 1), else_=2)
    refunds = (select(Refund.id, Refund.out_request_no, Order.number.label("order_number"),
                      HOLDER_NAME.label("holder_name"), Refund.amount_cents, Refund.reason, Refund.status,
                      Refund.requested_by, Refund.requested_at, Staff.display_name.label("confirmed_by"),
                      Refund.confirmed_at, Refund.succeeded_at, Refund.attempts, Refund.last_error,
                      (Payment.provider == BANK_TRANSFER).label("by_transfer"))
               .join(Payment, Payment.id == Refund.payment_id)
               .join(Order, Order.id == Payment.order_id))
    query = (with_holder(refunds)
             .outerjoin(Staff, Staff.id == Refund.confirmed_by_id)
             .where(*flt.days.conditions(Refund.requested_at))
             .order_by(waiting_first, Refund.requested_at.desc(), Refund.id.desc()))
    if flt.status is not None:
        query = query.where(Refund.status == flt.status)
    if flt.failed:
        query = query.where(_failed_refund())
    if flt.number:
        query = query.where(Payment.out_trade_no.contains(flt.number, autoescape=True))
    return query


REFUNDS = Listing(_refunds, RefundRow)


# --- invoices ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceFilter:
    days: Days = Days()  # on the day of issue
    kind: InvoiceKind | None = None
    status: InvoiceStatus | None = None
    number: str | None = None  # part of the invoice number or of the order number


@dataclass(frozen=True)
class InvoiceRow:
    id: int
    number: str
    kind: InvoiceKind
    status: InvoiceStatus
    buyer_name: str
    buyer_taxpayer_id: str | None  # none for a person
    total_cents: int
    issued_at: dt.datetime
    order_number: str
    original_number: str | None
    voided_at: dt.datetime | None
    voided_by: str | None
    void_reason: str | None
    payment_status: PaymentStatus | None
    order_has_invoice_in_force: bool

    @property
    def signed_total_cents(self) -> int:
        """A red invoice counts negative, as it is printed."""
        return -self.total_cents if self.kind is InvoiceKind.RED else self.total_cents

    @property
    def in_force(self) -> bool:
        return self.kind is InvoiceKind.BLUE and self.status is InvoiceStatus.ISSUED

    def voidable(self, now: dt.datetime) -> bool:
        return self.in_force and in_voidable_month(self.issued_at, now)

    @property
    def issuable_again(self) -> bool:
        """A blue invoice no longer in force, for an order still paid that has no other in force."""
        return (self.kind is InvoiceKind.BLUE and self.status is not InvoiceStatus.ISSUED
                and self.payment_status is PaymentStatus.PAID and not self.order_has_invoice_in_force)


def _invoices(flt: InvoiceFilter) -> Select:
    original = aliased(Invoice)
    query = (select(Invoice.id, Invoice.number, Invoice.kind, Invoice.status, Invoice.buyer_name,
                    Invoice.buyer_taxpayer_id, Invoice.total_cents, Invoice.issued_at,
                    Order.number.label("order_number"), original.number.label("original_number"),
                    Invoice.voided_at, Invoice.voided_by, Invoice.void_reason,
                    Payment.status.label("payment_status"),
                    blue_in_force(Invoice.order_id).label("order_has_invoice_in_force"))
             .join(Order, Order.id == Invoice.order_id)
             .outerjoin(original, original.id == Invoice.original_id)
             .outerjoin(Payment, Payment.order_id == Invoice.order_id)
             .where(*flt.days.conditions(Invoice.issued_at))
             .order_by(Invoice.issued_at.desc(), Invoice.id.desc()))
    if flt.kind is not None:
        query = query.where(Invoice.kind == flt.kind)
    if flt.status is not None:
        query = query.where(Invoice.status == flt.status)
    if flt.number:
        query = query.where(Invoice.number.contains(flt.number, autoescape=True)
                            | Order.number.contains(flt.number, autoescape=True))
    return query


INVOICES = Listing(_invoices, InvoiceRow)


def may_issue_again(session: Session, order: Order) -> bool:
    """The order's payment should have an invoice (paid, not being refunded, order not cancelled
    or rejected) and no blue invoice of it is in force."""
    return is_invoiceable(session, order) and not session.scalar(select(blue_in_force(order.id)))


# --- the finance home --------------------------------------------------------------------------


@dataclass(frozen=True)
class FinanceCounts:
    refunds_awaiting: int
    refunds_failed: int
    notifications_rejected_today: int
    payments_today: int
    payments_today_cents: int


def finance_counts(session: Session, now: dt.datetime) -> FinanceCounts:
    start, end = business_day_bounds(business_today(now))
    refunds = session.execute(select(
        func.count().filter(Refund.status == RefundStatus.AWAITING_CONFIRMATION),
        func.count().filter(_failed_refund())).select_from(Refund)).one()
    rejected = session.scalar(select(func.count()).select_from(PaymentNotification).where(
        PaymentNotification.outcome.in_(REJECTED_OUTCOMES), PaymentNotification.received_at >= start,
        PaymentNotification.received_at < end))
    paid = session.execute(select(func.count(), func.coalesce(func.sum(Payment.amount_cents), 0)).where(
        Payment.paid_at >= start, Payment.paid_at < end,
        Payment.status.in_(PAID_STATES))).one()
    return FinanceCounts(refunds_awaiting=refunds[0], refunds_failed=refunds[1], notifications_rejected_today=rejected,
                         payments_today=paid[0], payments_today_cents=paid[1])
