"""Controllers of the order query (订单查询): ask for a code, enter it, see the ID's orders.

The browser session keeps two marks, never an ID number in clear: the ID a code was asked
for (PENDING), and, once the code was right, the verified ID (VERIFIED), each for 15 minutes.
"""
from __future__ import annotations

from functools import partial

from flask import abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField
from wtforms.validators import ValidationError

from billing import invoices
from documents import regions
from documents.storage import DocumentStore
from models import BusinessType, CertKind, Order, OrderStatus
from models.base import utcnow
from models.sealed import mask
from public import after_sale, captcha, sms_codes, validators, views
from public import order_query as queries
from public.forms import ID_TYPES, Checked, check_field, choices_of, input_required, text_field
from public.services import BY_SLUG
from web.downloads import private_download
from web.extensions import db, limiter
from web.forms import Form
from web.services import find_service

PENDING = "order_query_pending"
VERIFIED = "order_query"
# The after-sale services that start with the order query (the seed's 补办 and 吊销 pages ask for the
# ID and the SMS code the same way): where the verified ID goes next, and the page's title.
NEXT = "order_query_next"
AFTER_QUERY = {
    "replacement": ("public.replacement_orders", _l("Certificate replacement")),
    "revocation": ("public.revocation_certificates", _l("Certificate revocation")),
}

CERT_KINDS = [(CertKind.UNIT.value, _l("Unit certificate")),
              (CertKind.PERSONAL.value, _l("Personal certificate"))]
QUERY_ID_TYPES = [(queries.CREDIT_CODE, _l("Unified social credit code")), *ID_TYPES]
# How the applicant reads each status (the staff labels say what the desk does next).
STATUS_WORDING = {
    OrderStatus.AWAITING_MATERIALS: _l("Submitted, waiting for the materials"),
    OrderStatus.AWAITING_SIGNATURE: _l("Materials uploaded, waiting for the SMS signature"),
    OrderStatus.AWAITING_PAYMENT: _l("Signed, waiting for payment"),
    OrderStatus.PAID: _l("Paid, waiting for review"),
    OrderStatus.IN_REVIEW: _l("In review"),
    OrderStatus.MORE_MATERIALS_NEEDED: _l("In review, more materials needed (see our SMS or e-mail)"),
    OrderStatus.APPROVED: _l("Reviewed, waiting for the key to be made"),
    OrderStatus.PROGRAMMING: _l("Reviewed, the key is being made"),
    OrderStatus.PROGRAMMED: _l("The key is made, to be mailed"),
    OrderStatus.SHIPPED: _l("Key mailed, on its way"),
    OrderStatus.COMPLETED: _l("Completed"),
    OrderStatus.REJECTED: _l("Not approved"),
    OrderStatus.CANCELLED: _l("Cancelled"),
}
# Where a business type's path differs from a first application's (no key made, or paid by a
# transfer finance matches).
TYPE_STATUS_WORDING = {
    (BusinessType.REPLACEMENT, OrderStatus.AWAITING_PAYMENT):
        _l("Signed, waiting for finance to match your bank transfer"),
    (BusinessType.REVOCATION, OrderStatus.APPROVED): _l("Approved, the certificate is being revoked"),
    (BusinessType.REVOCATION, OrderStatus.COMPLETED): _l("Completed: the certificate is revoked"),
    (BusinessType.UNLOCK, OrderStatus.APPROVED): _l("Authorised, waiting for the key helper to unlock the key"),
    (BusinessType.UNLOCK, OrderStatus.COMPLETED): _l("Completed: the key is unlocked"),
    (BusinessType.INFO_CHANGE, OrderStatus.APPROVED):
        _l("Approved: continue, with the key plugged in, to write the new certificate to it"),
}


def status_wording(order: Order) -> str:
    return TYPE_STATUS_WORDING.get((order.business_type, order.status)) or STATUS_WORDING[order.status]


INVOICE_WORDING = {
    queries.NOT_ISSUED: _l("Not issued"),
    "issued": _l("Issued"),
    "voided": _l("Voided"),
    "reversed": _l("Reversed by a red invoice"),
}
PASSWORD_WORDING = {
    "transfer_memo": _l("In the memo of the 0.01-yuan transfer to the corporate account"),
    "sms_legal_rep": _l("By SMS to the legal representative's phone"),
    "sms_holder": _l("By SMS to the holder's phone"),
}


class OrderQueryForm(Form):
    cert_kind = RadioField(_l("Certificate type"), choices=choices_of(CERT_KINDS), default=CertKind.UNIT.value,
                           validators=[input_required()])
    id_type = SelectField(_l("ID type"), choices=choices_of(QUERY_ID_TYPES), default=queries.CREDIT_CODE,
                          validators=[input_required()])
    id_number = text_field(_l("ID number"), True, 30)
    agent_phone = text_field(_l("Agent's (holder's) mobile phone"), True, 20, Checked(validators.mainland_mobile))
    captcha = text_field(_l("Captcha"), True, 8)

    def validate_id_type(self, field) -> None:
        if field.data == queries.CREDIT_CODE and self.cert_kind.data == CertKind.PERSONAL:
            raise ValidationError(gettext("A personal certificate is found by the holder's identity document."))

    def validate_id_number(self, field) -> None:
        if self.id_type.data == queries.CREDIT_CODE:
            check_field(field, validators.unified_social_credit_code)
        else:
            check_field(field, partial(validators.id_number, self.id_type.data))


def _mark(key: str) -> queries.QueryIdentity | None:
    identity = queries.identity_from(session.get(key), now=utcnow())
    if identity is None and key in session:
        session.pop(key)
        flash(gettext("Fifteen minutes have passed: please query again."), "error")
    return identity


def _purpose() -> str | None:
    """The after-sale service the query was asked for (`?for=`), if any."""
    purpose = request.args.get("for")
    return purpose if purpose in AFTER_QUERY else None


def _page(**context):
    purpose = context.pop("purpose", None)
    return render_template("public/query.html", cert_kinds=dict(CERT_KINDS), id_types=dict(QUERY_ID_TYPES),
                           purpose=purpose, title=AFTER_QUERY[purpose][1] if purpose else None, **context)


@limiter.limit("10/minute;30/hour", methods=["POST"])
def order_query():
    form = OrderQueryForm()
    if request.method == "POST":
        valid = form.validate()
        if views._captcha_ok(form) and valid:
            identity = queries.QueryIdentity.of(form.cert_kind.data, form.id_type.data, form.id_number.data,
                                                form.agent_phone.data)
            policy = views._policy()
            queries.send_query_code(db.session, policy, identity, client_ip=request.remote_addr)
            session.pop(VERIFIED, None)
            session[PENDING] = queries.session_mark(identity, now=utcnow())
            session[NEXT] = _purpose()
            # The same words whether or not the ID has orders.
            flash(gettext("If this phone is the agent's (a personal certificate's holder's) phone of orders for "
                          "this ID, a code has been sent to it by SMS. It is valid for %(minutes)s minutes; a new "
                          "code can be asked for after a minute.", minutes=max(policy.ttl_seconds // 60, 1)))
            return redirect(url_for("public.query_verify"))
    return _page(form=form, pending=None, captcha_token=captcha.new_token(), purpose=_purpose())


@limiter.limit("10/minute;60/hour", methods=["POST"])
def query_verify():
    identity = _mark(PENDING)
    if identity is None:
        return redirect(url_for("public.order_query"))
    error = None
    if request.method == "POST":
        try:
            queries.check_query_code(db.session, views._policy(), identity, request.form.get("sms_code", ""))
        except sms_codes.CodeInvalid as exc:
            error = gettext(str(exc))
        else:
            session.pop(PENDING, None)
            session[VERIFIED] = queries.session_mark(identity, now=utcnow())
            purpose = session.pop(NEXT, None)
            return redirect(url_for(AFTER_QUERY[purpose][0] if purpose in AFTER_QUERY else "public.query_results"))
    return _page(form=None, pending=identity, error=error, purpose=session.get(NEXT))


@limiter.limit("30/minute")
def query_results():
    identity = _mark(VERIFIED)
    if identity is None:
        return redirect(url_for("public.order_query"))
    results = queries.query_results(db.session, identity)
    response = make_response(render_template(
        "public/query_results.html", identity=identity, results=results,
        after_sale=_after_sale_links(identity, results),
        id_types=dict(QUERY_ID_TYPES), cert_kinds=dict(CERT_KINDS), status_wording=status_wording,
        invoice_wording=INVOICE_WORDING, password_wording=PASSWORD_WORDING, regions=regions, mask=mask,
    ))
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _after_sale_links(identity: queries.QueryIdentity, results: queries.QueryResults) -> dict[int, list]:
    """Order id -> [(service title, slug, URL)] of the after-sale services it allows."""
    rows = {row.order.id: row for row in (*results.unfinished, *results.history)}
    links = {}
    for order_id, slugs in after_sale.actions_of(db.session, identity, results).items():
        row = rows[order_id]
        links[order_id] = [(BY_SLUG[slug].title, slug, _after_sale_url(slug, row)) for slug in slugs]
    return links


def _after_sale_url(slug: str, row: queries.OrderRow) -> str:
    if slug == "replacement":
        return url_for("public.replacement_form", number=row.order.number)
    if slug == "revocation":
        return url_for("public.revocation_form", serial=row.certificate.serial_number)
    if slug == "renewal":
        return url_for("public.renewal_choice", number=row.order.number)  # at this PC or by post
    if slug == "unlock":
        return url_for("public.unlock_start", channel_code=row.order.channel.code)
    if slug == "change":
        return url_for("public.change_form", serial=row.certificate.serial_number)
    return url_for("public.service_page", channel_code=row.order.channel.code, slug=slug)


@limiter.limit("30/minute")
def query_invoice(invoice_id: int):
    identity = queries.identity_from(session.get(VERIFIED), now=utcnow())
    invoice = queries.invoice_for(db.session, identity, invoice_id) if identity else None
    if invoice is None:
        abort(404)
    return private_download(invoices.invoice_pdf(find_service(DocumentStore), invoice), invoice.filename,
                            "application/pdf")


@limiter.limit("10/minute")
def query_continue(number: str):
    identity = _mark(VERIFIED)
    if identity is None:
        return redirect(url_for("public.order_query"))
    order: Order = queries.order_of(db.session, identity, number) or abort(404)
    try:
        queries.rebind_order(db.session, order, applicant_secret=views.applicant_secret())
    except queries.NotContinuable:
        flash(gettext("This order is past the applicant's steps: there is nothing to continue."), "error")
        return redirect(url_for("public.query_results"))
    return redirect(url_for(views.next_step(order) or "public.done_page", number=order.number))
