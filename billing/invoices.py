"""Issuing, voiding and reversing e-invoices. Operations flush and audit; the edge commits."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from billing.capital import money
from billing.invoice_pdf import InvoiceData, InvoiceItem, Party, render_invoice
from billing.issuers import InvoiceRequest
from billing.services import BillingError, BillingServices
from documents.storage import DocumentStore, Purpose
from documents.uncommitted import save_until_committed
from models import (
    BusinessType,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    record,
)
from models.business_time import BUSINESS_TZ
from notifications import outbox
from notifications.interfaces import Attachment
from notifications.messages import render_email
from web.errors import N_

SERVICE_ITEM = "*信息技术服务*数字证书服务费"
ITEM_NAMES = {
    BusinessType.NEW: SERVICE_ITEM,
    BusinessType.RENEWAL: "*信息技术服务*数字证书更新服务费",
    BusinessType.REPLACEMENT: "*信息技术服务*数字证书补办服务费",
    BusinessType.INFO_CHANGE: "*信息技术服务*证书信息变更服务费",
}


def split_tax(total_cents: int, rate: Decimal) -> tuple[int, int]:
    """A tax-inclusive price as (amount, tax): amount = total / (1 + rate), rounded half up."""
    amount = int((Decimal(total_cents) / (1 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return amount, total_cents - amount


def invoiceable_payment() -> ColumnElement[bool]:
    """SQL condition on Payment (joined to its Order): a payment that should have an invoice in
    force: paid, no refund proposed, and the order neither cancelled nor rejected."""
    return and_(Payment.status == PaymentStatus.PAID, ~exists().where(Refund.payment_id == Payment.id),
                Order.id == Payment.order_id, Order.status.not_in((OrderStatus.CANCELLED, OrderStatus.REJECTED)))


def is_invoiceable(session: Session, order: Order) -> bool:
    """The order's payment should have an invoice in force (see `invoiceable_payment`)."""
    return bool(session.scalar(select(exists().where(Payment.order_id == order.id, invoiceable_payment()))))


def blue_in_force(order_id) -> ColumnElement[bool]:
    """SQL condition: the order (an id or an id column) has a blue invoice in force."""
    blue = aliased(Invoice)
    return exists().where(blue.order_id == order_id, blue.kind == InvoiceKind.BLUE,
                          blue.status == InvoiceStatus.ISSUED)


def in_voidable_month(issued_at: dt.datetime, now: dt.datetime) -> bool:
    """An invoice can be voided (作废) in the month of its issue only (Beijing time)."""
    issued, today = (t.astimezone(BUSINESS_TZ) for t in (issued_at, now))
    return (issued.year, issued.month) == (today.year, today.month)


def active_blue_invoice(session: Session, order: Order) -> Invoice | None:
    return session.scalar(select(Invoice).where(Invoice.order_id == order.id, Invoice.kind == InvoiceKind.BLUE,
                                                Invoice.status == InvoiceStatus.ISSUED))


def issue_blue_invoice(session: Session, services: BillingServices, order: Order, *, actor: str,
                       now: dt.datetime) -> Invoice:
    """The invoice for an order's payment, e-mailed to the agent. An order has at most one
    blue invoice in force; asking again answers that one. Raises IssuerError, storing nothing."""
    existing = active_blue_invoice(session, order)
    if existing is not None:
        return existing
    if not is_invoiceable(session, order):
        raise BillingError(N_("Only a paid order that is not being refunded can be invoiced."))
    rate = order.product.tax_rate
    amount, tax = split_tax(order.price_cents, rate)
    earlier = session.scalar(select(func.count()).select_from(Invoice).where(
        Invoice.order_id == order.id, Invoice.kind == InvoiceKind.BLUE))
    request = InvoiceRequest(
        request_id=f"blue:{order.number}:{earlier + 1}", kind=InvoiceKind.BLUE, buyer_name=order.invoice_title,
        buyer_taxpayer_id=order.invoice_taxpayer_id, item_name=ITEM_NAMES.get(order.business_type, SERVICE_ITEM),
        tax_rate=str(rate), amount_cents=amount, tax_cents=tax, total_cents=order.price_cents)
    invoice, pdf = _issue(session, services, order, request, now, original=None)
    _mail(session, order, invoice, pdf, title=invoice.buyer_name)
    record(session, actor, "invoice.issued", order=order, target=f"invoice:{invoice.number}",
           after={"kind": "blue", "number": invoice.number, "total_cents": invoice.total_cents})
    return invoice


def issue_red_invoice(session: Session, services: BillingServices, blue: Invoice, *, actor: str,
                      now: dt.datetime) -> Invoice:
    """Reverse a blue invoice in force with a red (credit) one of the same figures."""
    if blue.kind is not InvoiceKind.BLUE or blue.status is not InvoiceStatus.ISSUED:
        raise BillingError(N_("Only an issued blue invoice can be reversed."))
    order = blue.order
    request = InvoiceRequest(
        request_id=f"red:{blue.number}", kind=InvoiceKind.RED, buyer_name=blue.buyer_name,
        buyer_taxpayer_id=blue.buyer_taxpayer_id, item_name=blue.item_name, tax_rate=str(blue.tax_rate),
        amount_cents=blue.amount_cents, tax_cents=blue.tax_cents, total_cents=blue.total_cents,
        original_number=blue.number)
    red, pdf = _issue(session, services, order, request, now, original=blue)
    blue.status = InvoiceStatus.REVERSED
    _mail(session, order, red, pdf, original=blue.number)
    record(session, actor, "invoice.reversed", order=order, target=f"invoice:{blue.number}",
           after={"red_number": red.number, "total_cents": red.total_cents})
    return red


def void_invoice(session: Session, services: BillingServices, invoice: Invoice, *, actor: str, reason: str,
                 now: dt.datetime) -> None:
    """作废: only a blue invoice of the current month (Beijing time); later ones are reversed
    with a red invoice. The number stays used, so the sequence keeps no gap."""
    if invoice.kind is not InvoiceKind.BLUE or invoice.status is not InvoiceStatus.ISSUED:
        raise BillingError(N_("Only an issued blue invoice can be voided."))
    if not reason.strip():
        raise BillingError(N_("Give the reason for voiding the invoice."))
    if not in_voidable_month(invoice.issued_at, now):
        raise BillingError(N_("Only invoices of the current month can be voided; issue a red invoice instead."))
    services.issuer.void(invoice.number, reason.strip())
    invoice.status, invoice.voided_at, invoice.voided_by, invoice.void_reason = (
        InvoiceStatus.VOIDED, now, actor, reason.strip())
    record(session, actor, "invoice.voided", order=invoice.order, target=f"invoice:{invoice.number}",
           note=reason.strip())


def invoice_data(invoice: Invoice, seller: Party, drawer: str) -> InvoiceData:
    red = invoice.kind is InvoiceKind.RED
    item = InvoiceItem(invoice.item_name, invoice.order.product.name, "套", 1, invoice.amount_cents,
                       invoice.amount_cents, invoice.tax_rate, invoice.tax_cents)
    remarks = f"订单号 {invoice.order.number}"
    if red:
        remarks += f"；对应正数发票号码 {invoice.original.number}"
    return InvoiceData(
        number=invoice.number, issued_at=invoice.issued_at,
        buyer=Party(invoice.buyer_name, invoice.buyer_taxpayer_id or "", invoice.buyer_address_phone or "",
                    invoice.buyer_bank_account or ""),
        seller=seller, items=[item], amount_cents=invoice.amount_cents, tax_cents=invoice.tax_cents,
        total_cents=invoice.total_cents, verify_url=invoice.verify_url, red=red,
        original_number=invoice.original.number if red else None, remarks=remarks, drawer=drawer)


def _issue(session: Session, services: BillingServices, order: Order, request: InvoiceRequest,
           now: dt.datetime, original: Invoice | None) -> tuple[Invoice, bytes]:
    # A savepoint: if the issuer fails, the number it took (sandbox) is given back with the rest.
    with session.begin_nested():
        issued = services.issuer.issue(session, request, now)
        invoice = Invoice(
            order=order, kind=request.kind, status=InvoiceStatus.ISSUED, issuer=services.issuer.name,
            number=issued.number, year=issued.issued_at.astimezone(BUSINESS_TZ).year, sequence=issued.sequence,
            original=original, issued_at=issued.issued_at, buyer_name=request.buyer_name,
            buyer_taxpayer_id=request.buyer_taxpayer_id,
            buyer_address_phone=original.buyer_address_phone if original else order.invoice_address_phone,
            buyer_bank_account=original.buyer_bank_account if original else order.invoice_bank_account,
            item_name=request.item_name, tax_rate=Decimal(request.tax_rate), amount_cents=request.amount_cents,
            tax_cents=request.tax_cents, total_cents=request.total_cents, verify_url=issued.verify_url)
        pdf = render_invoice(invoice_data(invoice, services.seller, services.drawer), services.renderer)
        # Kept with the savepoint: a store that cannot write (StorageUnavailable) undoes the invoice.
        invoice.pdf_name = save_until_committed(session, services.store, Purpose.INVOICE, pdf)
        session.add(invoice)
        session.flush()
    return invoice, pdf


def invoice_pdf(store: DocumentStore, invoice: Invoice) -> bytes:
    """The invoice's PDF, from the document store."""
    if invoice.pdf_name is None:
        raise LookupError(f"invoice {invoice.number}'s PDF is not in the document store yet: "
                          "run `flask --app wsgi storage migrate`")
    return store.read(invoice.pdf_name)


def _mail(session: Session, order: Order, invoice: Invoice, pdf: bytes, **facts) -> None:
    """The invoice by e-mail (templates/emails/invoice_blue/ or invoice_red/), its PDF attached."""
    message = render_email(f"invoice_{invoice.kind}", number=invoice.number, order=order.number,
                           total=money(invoice.total_cents), **facts)
    outbox.queue_email(session, order.agent.email, message, order=order,
                       attachments=[Attachment(invoice.filename, "application/pdf", pdf)])


def invoices_of(session: Session, order: Order) -> list[Invoice]:
    return list(session.scalars(select(Invoice).where(Invoice.order_id == order.id).order_by(Invoice.id)))
