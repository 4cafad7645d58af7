"""The payment page (QR code, polled until paid), the provider's notification endpoint and
the applicant's invoice download."""
from __future__ import annotations

import segno
from flask import Response, abort, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext
from sqlalchemy.exc import OperationalError

from billing import checkout, invoices
from billing.services import BillingError, current_services
from documents.storage import DocumentStore
from models import Invoice, OrderStatus
from models.base import utcnow
from models.business import PAID_BY_TRANSFER
from models.payment import REJECTED_OUTCOMES
from public import payments
from public.views import next_step, owned_order
from web.database import writes
from web.downloads import private_download
from web.extensions import db, limiter
from web.services import find_service

PROVIDER_CHECK_SECONDS = 10


@limiter.limit("30/minute")
@writes
def payment_page(number: str):
    order = owned_order(number)
    if order.business_type in PAID_BY_TRANSFER:  # paid by a bank transfer finance matches: no QR code
        return redirect(url_for(next_step(order) or "public.done_page", number=number))
    if order.status is not OrderStatus.AWAITING_PAYMENT:
        return redirect(url_for("public.done_page", number=number))
    services = current_services()
    error = qr_svg = wallet_url = None
    try:
        payment, qr_code = checkout.payment_qr_code(db.session, services, order)
    except BillingError as exc:
        error = gettext(exc.message, **exc.params)
    else:
        qr_svg = segno.make(qr_code, error="m").svg_data_uri(scale=6, border=2)
        if "sandbox_wallet" in current_app.blueprints:
            wallet_url = url_for("sandbox_wallet.cashier", out_trade_no=payment.out_trade_no)
    return render_template("public/pay.html", order=order, qr_svg=qr_svg, error=error, wallet_url=wallet_url,
                           deadline=services.payment_deadline(order))


@limiter.limit("60/minute")
@writes
def payment_status(number: str):
    """Polled by the payment page: where the order stands, and where to go once it is paid.
    The notification normally moves the order; the provider is asked directly at most every
    PROVIDER_CHECK_SECONDS per browser, in case it is late or lost."""
    order = owned_order(number)
    now = utcnow()
    if order.status is OrderStatus.AWAITING_PAYMENT and _time_to_ask_provider(number, now.timestamp()):
        try:
            payments.check_payment(db.session, current_services(), order, now=now)
        except OperationalError:
            # SQLite: this poll read before the notification's write and may not write after it;
            # the notification has paid the order, and the next poll reads that.
            db.session.rollback()
            order = owned_order(number)
    waiting = order.status is OrderStatus.AWAITING_PAYMENT
    return jsonify(status=str(order.status), waiting=waiting,
                   next=None if waiting else url_for("public.done_page", number=number))


def _time_to_ask_provider(number: str, now: float) -> bool:
    asked = session.get("provider_checked", {})
    if now - asked.get(number, 0) < PROVIDER_CHECK_SECONDS:
        return False
    session["provider_checked"] = {number: now}
    return True


# Generous: the provider posts every order's notifications from a few addresses.
@limiter.limit("600/minute")
def payment_notification():
    """The provider's asynchronous notification: verified, logged, applied once."""
    settlement = payments.record_notification(db.session, current_services(), request.form.to_dict(),
                                              now=utcnow())
    # Alipay stops re-sending a notification once the answer is exactly "success".
    handled = settlement.outcome not in REJECTED_OUTCOMES
    return Response("success" if handled else "fail", status=200 if handled else 400, mimetype="text/plain")


def invoice_pdf(number: str, invoice_id: int):
    order = owned_order(number)
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or invoice.order_id != order.id:
        abort(404)
    return private_download(invoices.invoice_pdf(find_service(DocumentStore), invoice), invoice.filename,
                            "application/pdf")
