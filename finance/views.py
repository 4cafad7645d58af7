"""Controllers of the finance console: payments, notifications that paid nothing, refunds,
invoices, the daily reconciliation with the provider's bill, and the bank transfers to match
to the orders they pay (a replacement is paid by transfer before it is applied for).

Finance works here. An admin sees every page and export but changes nothing: confirming a
refund or voiding an invoice moves money or tax records, which finance answers for. Reviewers
may download an invoice's PDF (an applicant asks them about it). Each action loads its object
(404), calls one billing operation and redirects; the request edge commits.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from billing import invoices, refunds, transfers
from billing.issuers import IssuerError
from billing.payments.interfaces import PaymentProvider, ProviderError
from billing.reconciliation import MismatchKind, reconcile_with_provider
from billing.services import BillingError, current_services
from documents.storage import DocumentStore
from finance import queries
from finance.forms import ActionForm, MatchForm, PaidBackForm, RefuseProofForm, VoidForm
from models import (
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    NotificationOutcome,
    Order,
    PaymentStatus,
    Refund,
    RefundStatus,
    StaffRole,
    record,
)
from models.base import utcnow
from models.business import PAID_BY_TRANSFER
from models.business_time import Days
from models.working_days import load_calendar
from reports import exports
from web.database import writes
from web.downloads import TABLE_TYPES, private_download
from web.extensions import db
from web.guards import has_role, roles_required
from web.labels import billing_label
from web.request_guard import bounded_int
from web.services import find_service

ACTORS = (StaffRole.FINANCE,)
VIEWERS = (StaffRole.FINANCE, StaffRole.ADMIN)
INVOICE_READERS = (StaffRole.FINANCE, StaffRole.ADMIN, StaffRole.REVIEWER, StaffRole.SENIOR_REVIEWER)
PAGE_SIZE = 50
EXPORT_FORMATS = ("csv", "xlsx")


def yuan(cents: int | None) -> str:
    return "" if cents is None else f"{cents / 100:,.2f}"


def template_helpers() -> dict:
    return {"yuan": yuan}


def _yuan_cell(cents: int | None) -> Decimal | None:
    return None if cents is None else Decimal(cents).scaleb(-2)


# --- reading the request -----------------------------------------------------------------------


def _day(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.args.get(name) or "")
    except ValueError:
        return None


def _days() -> Days:
    return Days(_day("since"), _day("until"))


def _enum(cls, name: str):
    try:
        return cls(request.args.get(name)) if request.args.get(name) else None
    except ValueError:
        return None


def _text(name: str = "q") -> str | None:
    return (request.args.get(name) or "").strip()[:64] or None


def _page_number() -> int:
    return max(request.args.get("p", 1, type=bounded_int), 1)


def _kept() -> dict[str, str]:
    """The filters, for the pager and the export links."""
    return {key: value for key, value in request.args.items() if key not in ("p", "export") and value}


def _export_format() -> str | None:
    wanted = request.args.get("export")
    return wanted if wanted in EXPORT_FORMATS else None


def _export(fmt: str, name: str, title: str, headers: list, rows, day: dt.date | None = None) -> Response:
    """The table as a download named after its day (the business day of the export by default)."""
    headers = [str(header) for header in headers]
    body = exports.csv_bytes(headers, rows) if fmt == "csv" else exports.xlsx_bytes(headers, rows, title)
    day = day or queries.business_today(utcnow())
    return private_download(body, f"{name}-{day:%Y%m%d}.{fmt}", TABLE_TYPES[fmt])


def _list(template: str, listing: queries.Listing, flt, **context) -> str:
    page = listing.page(db.session, flt, _page_number(), PAGE_SIZE)
    return render_template(template, page=page, args=_kept(), can_act=has_role(current_user, *ACTORS), **context)


# --- pages -------------------------------------------------------------------------------------


@roles_required(*VIEWERS)
def home():
    now = utcnow()
    today = queries.business_today(now)
    return render_template("finance/home.html", counts=queries.finance_counts(db.session, now), today=today,
                           weekday=format_date(today, "EEEE"), workday=load_calendar(db.session).is_workday(today))


PAYMENT_HEADERS = [_l("Order no."), _l("Certificate holder"), _l("Business type"), _l("Amount (yuan)"), _l("Status"),
                   _l("Provider trade no."), _l("Paid at (Beijing time)"), _l("Refund"), _l("Invoice no.")]


@roles_required(*VIEWERS)
def payments():
    on = request.args.get("on")
    flt = queries.PaymentFilter(days=_days(), on=on if on in queries.PAYMENT_DATES else "paid",
                                status=_enum(PaymentStatus, "status"), number=_text())
    if fmt := _export_format():
        rows = ([r.order_number, r.holder_name, billing_label(r.business_type), _yuan_cell(r.amount_cents),
                 billing_label(r.status), r.trade_no, r.paid_at, billing_label(r.refund_status), r.invoice_number]
                for r in queries.PAYMENTS.rows(db.session, flt))
        return _export(fmt, "payments", _("Payments"), PAYMENT_HEADERS, rows)
    return _list("finance/payments.html", queries.PAYMENTS, flt,
                 totals=queries.payment_totals(db.session, flt), statuses=list(PaymentStatus))


NOTIFICATION_HEADERS = [_l("Received at (Beijing time)"), _l("Merchant trade no."), _l("Provider status"),
                        _l("Amount (yuan)"), _l("Outcome"), _l("Detail")]


@roles_required(*VIEWERS)
def notifications():
    flt = queries.NotificationFilter(days=_days(), outcome=_enum(NotificationOutcome, "outcome"), number=_text())
    if fmt := _export_format():
        rows = ([r.received_at, r.out_trade_no, r.trade_status, _yuan_cell(r.amount_cents), billing_label(r.outcome),
                 r.detail] for r in queries.NOTIFICATIONS.rows(db.session, flt))
        return _export(fmt, "notifications", _("Payment notifications"), NOTIFICATION_HEADERS, rows)
    return _list("finance/notifications.html", queries.NOTIFICATIONS, flt, outcomes=queries.ODD_OUTCOMES)


REFUND_HEADERS = [_l("Refund request no."), _l("Order no."), _l("Certificate holder"), _l("Amount (yuan)"),
                  _l("Reason"), _l("Status"), _l("Proposed by"), _l("Proposed at (Beijing time)"), _l("Confirmed by"),
                  _l("Confirmed at (Beijing time)"), _l("Refunded at (Beijing time)"), _l("Attempts"),
                  _l("Last error")]


@roles_required(*VIEWERS)
def refund_list():
    flt = queries.RefundFilter(days=_days(), status=_enum(RefundStatus, "status"),
                               failed=request.args.get("failed") == "1", number=_text())
    if fmt := _export_format():
        rows = ([r.out_request_no, r.order_number, r.holder_name, _yuan_cell(r.amount_cents), billing_label(r.reason),
                 billing_label(r.status), r.requested_by, r.requested_at, r.confirmed_by, r.confirmed_at,
                 r.succeeded_at, r.attempts, r.last_error] for r in queries.REFUNDS.rows(db.session, flt))
        return _export(fmt, "refunds", _("Refunds"), REFUND_HEADERS, rows)
    return _list("finance/refunds.html", queries.REFUNDS, flt, statuses=list(RefundStatus))


INVOICE_HEADERS = [_l("Invoice no."), _l("Kind"), _l("Status"), _l("Buyer"), _l("Buyer's taxpayer ID"),
                   _l("Total incl. tax (yuan)"), _l("Issued at (Beijing time)"), _l("Order no."),
                   _l("Original invoice no."), _l("Void reason")]


@roles_required(*VIEWERS)
def invoice_list():
    flt = queries.InvoiceFilter(days=_days(), kind=_enum(InvoiceKind, "kind"), status=_enum(InvoiceStatus, "status"),
                                number=_text())
    if fmt := _export_format():
        rows = ([r.number, billing_label(r.kind), billing_label(r.status), r.buyer_name, r.buyer_taxpayer_id,
                 _yuan_cell(r.signed_total_cents), r.issued_at, r.order_number, r.original_number, r.void_reason]
                for r in queries.INVOICES.rows(db.session, flt))
        return _export(fmt, "invoices", _("Invoices"), INVOICE_HEADERS, rows)
    return _list("finance/invoices.html", queries.INVOICES, flt,
                 kinds=list(InvoiceKind), statuses=list(InvoiceStatus), now=utcnow())


@roles_required(*INVOICE_READERS)
@writes
def invoice_pdf(invoice_id: int):
    """Staff downloads are audited, like a number revealed on the review screen."""
    invoice = db.session.get(Invoice, invoice_id) or abort(404)
    record(db.session, current_user.actor, "invoice.downloaded", order=invoice.order,
           target=f"invoice:{invoice.number}")
    return private_download(invoices.invoice_pdf(find_service(DocumentStore), invoice), invoice.filename,
                            "application/pdf")


MISMATCH_HEADERS = [_l("Difference"), _l("Merchant trade no."), _l("Order no."), _l("Provider trade no."),
                    _l("Refund request no."), _l("Our amount (yuan)"), _l("Bill amount (yuan)"), _l("Note")]


@roles_required(*VIEWERS)
def reconciliation():
    today = queries.business_today(utcnow())
    day = _day("day") or today - dt.timedelta(days=1)
    result = error = None
    if day >= today:
        error = _("A day's bill is ready the day after; pick an earlier day.")
    else:
        try:
            result = reconcile_with_provider(db.session, find_service(PaymentProvider), day)
        except ProviderError as exc:
            error = _("The payment provider did not give the bill of %(day)s: %(error)s", day=day.isoformat(),
                      error=str(exc))
        except ValueError as exc:
            error = _("The bill of %(day)s could not be reconciled: %(error)s", day=day.isoformat(), error=str(exc))
    if result is not None and (fmt := _export_format()):
        rows = ([billing_label(m.kind), m.out_trade_no, m.order_number, m.trade_no, m.out_request_no,
                 _yuan_cell(m.ours_cents), _yuan_cell(m.bill_cents), m.note] for m in result.mismatches)
        return _export(fmt, "reconciliation", _("Reconciliation"), MISMATCH_HEADERS, rows, day)
    return render_template("finance/reconciliation.html", day=day, latest=today - dt.timedelta(days=1),
                           result=result, error=error, kinds=list(MismatchKind))


# --- actions (finance only) --------------------------------------------------------------------


def _back(endpoint: str):
    """To the list the button was on, with its filters, or else the list itself."""
    target = request.form.get("next") or ""
    if target.startswith("/console/finance/"):
        return redirect(target)
    return redirect(url_for(endpoint))


def _button() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


def _attempt(action) -> bool:
    """Run the operation; what it refuses is shown, not raised."""
    try:
        action()
    except BillingError as exc:
        flash(_(exc.message, **exc.params), "error")
        return False
    except IssuerError as exc:
        flash(_("The invoice platform did not answer: %(error)s", error=str(exc)), "error")
        return False
    return True


@roles_required(*ACTORS)
def confirm_refund(refund_id: int):
    refund = db.session.get(Refund, refund_id) or abort(404)
    _button()
    if _attempt(lambda: refunds.confirm_refund(db.session, current_services(), refund, current_user, now=utcnow())):
        _flash_sent(refund)
    return _back("finance.refund_list")


@roles_required(*ACTORS)
def send_refund(refund_id: int):
    refund = db.session.get(Refund, refund_id) or abort(404)
    _button()
    if refund.status is not RefundStatus.CONFIRMED:
        flash(_("Only a confirmed refund that was not sent yet can be sent again."), "error")
    else:
        refunds.execute_refund(db.session, current_services(), refund, actor=current_user.actor, now=utcnow())
        _flash_sent(refund)
    return _back("finance.refund_list")


@roles_required(*ACTORS)
def record_paid_back(refund_id: int):
    refund = db.session.get(Refund, refund_id) or abort(404)
    form = PaidBackForm()
    if not form.validate_on_submit():
        flash(" ".join(str(error) for errors in form.errors.values() for error in errors), "error")
    elif _attempt(lambda: refunds.record_paid_back(db.session, refund, form.reference.data, current_user,
                                                   now=utcnow())):
        flash(_("Refund %(number)s is recorded as paid back by the transfer %(reference)s.",
                number=refund.out_request_no, reference=form.reference.data), "success")
    return _back("finance.refund_list")


def _flash_sent(refund: Refund) -> None:
    if refunds.paid_back_by_hand(refund) and refund.status is RefundStatus.CONFIRMED:
        flash(_("Refund %(number)s is confirmed: pay %(amount)s yuan back by bank transfer from the CA's account, "
                "then record the transfer's reference here.", number=refund.out_request_no,
                amount=yuan(refund.amount_cents)), "success")
    elif refund.status is RefundStatus.SUCCEEDED:
        flash(_("Refund %(number)s sent: the payer gets %(amount)s yuan back.", number=refund.out_request_no,
                amount=yuan(refund.amount_cents)), "success")
    else:
        flash(_("The provider did not take refund %(number)s: %(error)s. It stays confirmed; send it again later.",
                number=refund.out_request_no, error=refund.last_error), "warning")


@roles_required(*ACTORS)
def void_invoice(invoice_id: int):
    invoice = db.session.get(Invoice, invoice_id) or abort(404)
    form = VoidForm()
    if not form.validate_on_submit():
        flash(_("Give the reason for voiding the invoice (at most 200 characters)."), "error")
    elif _attempt(lambda: invoices.void_invoice(db.session, current_services(), invoice, actor=current_user.actor,
                                                reason=form.reason.data, now=utcnow())):
        flash(_("Invoice %(number)s is voided.", number=invoice.number), "success")
    return _back("finance.invoice_list")


@roles_required(*ACTORS)
def red_invoice(invoice_id: int):
    invoice = db.session.get(Invoice, invoice_id) or abort(404)
    _button()
    if _attempt(lambda: invoices.issue_red_invoice(db.session, current_services(), invoice,
                                                   actor=current_user.actor, now=utcnow())):
        flash(_("Invoice %(number)s is reversed by a red invoice.", number=invoice.number), "success")
    return _back("finance.invoice_list")


@roles_required(*ACTORS)
def issue_invoice_again(number: str):
    order = db.session.scalar(select(Order).where(Order.number == number)) or abort(404)
    _button()
    if not queries.may_issue_again(db.session, order):
        flash(_("Only a paid order without an invoice in force can be invoiced again."), "error")
    elif _attempt(lambda: invoices.issue_blue_invoice(db.session, current_services(), order,
                                                      actor=current_user.actor, now=utcnow())):
        flash(_("A new invoice for order %(number)s is issued and e-mailed to the agent.", number=number), "success")
    return _back("finance.invoice_list")


# --- bank transfers to match (补办: paid by a transfer made before applying) -------------------------


def _transfer_order(number: str) -> Order:
    order = db.session.scalar(select(Order).where(Order.number == number))
    if order is None or order.business_type not in PAID_BY_TRANSFER:
        abort(404)
    return order


@roles_required(*VIEWERS)
def transfer_list():
    return render_template("finance/transfers.html", waiting=transfers.waiting_for_match(db.session),
                           refused=transfers.waiting_for_new_proof(db.session), can_act=has_role(current_user, *ACTORS))


def _match_form(**kwargs) -> MatchForm:
    return MatchForm(today=queries.business_today(utcnow()), **kwargs)


def _transfer_page(order: Order, match_form: MatchForm | None = None, refuse_form: RefuseProofForm | None = None,
                   error: str | None = None, status: int = 200):
    return render_template("finance/transfer.html", order=order, proof=transfers.current_proof(db.session, order),
                           match_form=match_form or _match_form(formdata=None),
                           refuse_form=refuse_form or RefuseProofForm(formdata=None), error=error,
                           can_act=has_role(current_user, *ACTORS)), status


@roles_required(*VIEWERS)
def transfer_page(number: str):
    return _transfer_page(_transfer_order(number))


@roles_required(*ACTORS)
def match_transfer(number: str):
    order = _transfer_order(number)
    form = _match_form()
    if not form.validate_on_submit():
        return _transfer_page(order, match_form=form, status=422)
    line = transfers.StatementLine(reference=form.reference.data.strip(), amount_cents=form.amount_cents,
                                   value_date=form.value_date.data, payer_name=form.payer_name.data.strip())
    try:
        transfers.match_transfer(db.session, current_services(), order, line, current_user, now=utcnow())
    except BillingError as exc:
        return _transfer_page(order, match_form=form, error=_(exc.message, **exc.params), status=422)
    flash(_("Order %(number)s is paid by the transfer %(reference)s: it enters the replacement queue, and its "
            "invoice is issued.", number=number, reference=line.reference), "success")
    return redirect(url_for("finance.transfer_list"))


@roles_required(*ACTORS)
def refuse_transfer_proof(number: str):
    order = _transfer_order(number)
    form = RefuseProofForm()
    if not form.validate_on_submit():
        return _transfer_page(order, refuse_form=form, status=422)
    try:
        transfers.refuse_proof(db.session, order, form.reason.data.strip(), current_user, now=utcnow())
    except BillingError as exc:
        return _transfer_page(order, refuse_form=form, error=_(exc.message, **exc.params), status=422)
    flash(_("The payment proof of order %(number)s is refused; the applicant is told by SMS and e-mail and may "
            "upload a new one.", number=number), "success")
    return redirect(url_for("finance.transfer_list"))


@roles_required(*ACTORS)
@writes
def transfer_proof(number: str):
    """The one document finance opens: the payment proof of an order paid by transfer. Each view
    is audited, as a reviewer's view of a document is."""
    order = _transfer_order(number)
    proof = transfers.current_proof(db.session, order) or abort(404)
    record(db.session, current_user.actor, "material.viewed", order=order, target=f"material:{proof.id}")
    response = Response(find_service(DocumentStore).read(proof.stored_name), mimetype=proof.content_type)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Disposition"] = "inline"
    return response
