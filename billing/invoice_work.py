"""Invoices are issued by the workers, not in the request that settles or refunds a payment: the
tax platform's call and the PDF's rendering take their time, and a payment notification is
answered at once. A platform (or the document store, which keeps the PDF) that does not answer
leaves the invoice to `billing sweep`, as before; both ask for it under the same request number,
so it is made once."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing import invoices
from billing.issuers import IssuerError
from billing.services import current_services
from documents.storage import StorageUnavailable
from models import Order, Payment, PaymentStatus, record
from models.base import utcnow
from web import jobs

BLUE = "invoice.blue"
RED = "invoice.red"
ACTOR = "system:worker"


def issue_blue(session: Session, order_id: int) -> None:
    """The paid order's invoice, unless it has one or is no longer to be invoiced (a refund)."""
    order = session.get(Order, order_id)
    if invoices.active_blue_invoice(session, order) or not invoices.is_invoiceable(session, order):
        return
    try:
        invoices.issue_blue_invoice(session, current_services(), order, actor=ACTOR, now=utcnow())
    except (IssuerError, StorageUnavailable) as exc:
        record(session, ACTOR, "invoice.deferred", order=order, note=str(exc))


def issue_red(session: Session, order_id: int) -> None:
    """The refunded order's invoice in force reversed."""
    order = session.get(Order, order_id)
    blue = invoices.active_blue_invoice(session, order)
    refunded = session.scalar(select(Payment.id).where(Payment.order_id == order_id,
                                                       Payment.status == PaymentStatus.REFUNDED))
    if blue is None or refunded is None:
        return
    try:
        invoices.issue_red_invoice(session, current_services(), blue, actor=ACTOR, now=utcnow())
    except (IssuerError, StorageUnavailable) as exc:
        record(session, ACTOR, "invoice.deferred", order=order, note=f"red invoice: {exc}")


def register(app) -> None:
    jobs.register(app, BLUE, issue_blue)
    jobs.register(app, RED, issue_red)
