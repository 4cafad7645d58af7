"""Controllers of the public pages: load the order (404), check the session owns it, act."""
from __future__ import annotations

import secrets

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from billing import invoices, transfers
from billing.services import current_services
from documents import regions
from documents.materials import InvalidUpload, check_filename, check_image, current_materials
from documents.storage import DocumentStore, StorageUnavailable
from models import BusinessType, CertKind, Channel, Material, MaterialKind, Order, OrderStatus
from models.business import KEY_WORK_STATION, ON_THE_SAME_KEY, PAID_BY_TRANSFER, materials_of
from models.order_state import UNPAID
from public import captcha, catalogue, key_helper, operations, services, sms_codes
from public.forms import PublicApplicationForm
from review import operations as review_operations
from web.database import writes
from web.error_pages import PageError
from web.extensions import db, limiter
from web.services import find_service
from web.staff_login import is_staff

LEGAL_DOCUMENTS = ("service-agreement", "privacy-policy", "risk-notice")
# The applicant's next page while the order is theirs to move on ('continue').
NEXT_STEP = {
    OrderStatus.AWAITING_MATERIALS: "public.materials_page",
    OrderStatus.AWAITING_SIGNATURE: "public.signature_page",
    OrderStatus.AWAITING_PAYMENT: "public.payment_page",
}
# After-sale orders filled on a form of their own: their confirm page (with its "return to edit").
OWN_CONFIRM_PAGES = {BusinessType.REVOCATION: "public.revocation_confirm"}
# After-sale orders whose "return to edit" is a form of their own.
OWN_EDIT_PAGES = {BusinessType.REPLACEMENT: "public.replacement_edit"}


def next_step(order: Order) -> str | None:
    """NEXT_STEP, but an order paid by a bank transfer made beforehand waits for finance, not for
    a QR code; only a refused payment proof gives the applicant something to do (a new one)."""
    if order.business_type in PAID_BY_TRANSFER and order.status is OrderStatus.AWAITING_PAYMENT:
        return "public.payment_proof" if transfers.awaiting_new_proof(db.session, order) else None
    return NEXT_STEP.get(order.status)


def applicant_secret() -> str:
    if "applicant" not in session:
        session["applicant"] = secrets.token_urlsafe(32)
    return session["applicant"]


def _actor() -> str:
    return "applicant:" + operations.session_hash(applicant_secret())[:12]


def owned_order(number: str, *options) -> Order:
    """The order, if this browser filed it (or took it over through the order query); else the
    page that points to the order query, the same whether or not the number exists. `options`:
    what the page shows of it, loaded with it (sqlalchemy.orm.joinedload)."""
    order = db.session.scalar(select(Order).where(Order.number == number).options(*options))
    secret = session.get("applicant")
    if order is None or secret is None or order.applicant_session_hash != operations.session_hash(secret):
        raise PageError(404, template="public/order_elsewhere.html", number=number[:20])
    return order


def _channel(code: str):
    try:
        return catalogue.channel_by_code(db.session, code)
    except catalogue.UnknownChannel:
        abort(404)


def _form(channel, **kwargs) -> PublicApplicationForm:
    return PublicApplicationForm(
        products=catalogue.products_for(db.session, channel, CertKind.UNIT),
        media_models=catalogue.media_models(db.session),
        **kwargs,
    )


def _captcha_ok(form: PublicApplicationForm) -> bool:
    """Takes the answer to the picture of the posted token; a problem goes on the captcha field."""
    config = current_app.config
    problem = captcha.take(db.session, config["SECRET_KEY"], request.form.get("captcha_token", ""),
                           form.captcha.data or "", max_tries=config["CAPTCHA_MAX_ATTEMPTS"])
    if problem:
        form.captcha.errors = [*form.captcha.errors, gettext(problem)]
    form.captcha.data = ""
    return problem is None


def _policy() -> sms_codes.CodePolicy:
    return sms_codes.CodePolicy.from_config(current_app.config)


def _store() -> DocumentStore:
    return find_service(DocumentStore)


def index():
    return redirect(url_for("public.channel_home", channel_code=current_app.config["DEFAULT_CHANNEL"]))


def channel_home(channel_code: str):
    channel = _channel(channel_code)
    tiles = [(service, _service_url(service, channel)) for service in services.SERVICES]
    return render_template("public/home.html", channel=channel, tiles=tiles)


def service_page(channel_code: str, slug: str):
    """A service of the home page by a lasting address: on to where it is done."""
    channel = _channel(channel_code)
    service = services.BY_SLUG.get(slug)
    if service is None:
        abort(404)
    return redirect(_service_url(service, channel))


def _service_url(service: services.Service, channel: Channel) -> str:
    return url_for(service.endpoint, **({"channel_code": channel.code} if service.per_channel else {}))


@limiter.limit("30/minute", methods=["POST"])
def new_application(channel_code: str):
    channel = _channel(channel_code)
    form = _form(channel)
    if request.method == "POST":
        valid = form.validate()
        if _captcha_ok(form) and valid:
            order = operations.submit_application(
                db.session, channel, form.data, actor=_actor(),
                applicant_secret=applicant_secret(),
            )
            return redirect(url_for("public.confirm_page", number=order.number))
    return render_template("public/apply.html", form=form, channel=channel, order=None,
                           captcha_token=captcha.new_token())


@limiter.limit("30/minute", methods=["POST"])
def edit_application(number: str):
    order = owned_order(number)
    if order.business_type in OWN_CONFIRM_PAGES:
        return redirect(url_for(OWN_CONFIRM_PAGES[order.business_type], number=number))
    if order.business_type in OWN_EDIT_PAGES:
        return redirect(url_for(OWN_EDIT_PAGES[order.business_type], number=number), code=307)
    if order.personal:  # the personal application form (public.personal_views)
        return redirect(url_for("public.edit_personal_application", number=number), code=307)
    if order.status not in operations.APPLICANT_EDITABLE:
        return redirect(url_for("public.done_page", number=number))
    if request.method == "POST":
        form = _form(order.channel)
        valid = form.validate()
        if _captcha_ok(form) and valid:
            operations.update_application(db.session, order, form.data, actor=_actor())
            return redirect(url_for("public.confirm_page", number=order.number))
    else:
        form = _form(order.channel, data=operations.form_data(order))
    return render_template("public/apply.html", form=form, channel=order.channel, order=order,
                           captcha_token=captcha.new_token())


# What the confirm page shows of the order besides its own columns: loaded in the order's statement.
CONFIRM_PAGE_SHOWS = (joinedload(Order.organisation), joinedload(Order.agent), joinedload(Order.legal_rep),
                      joinedload(Order.product), joinedload(Order.media_model))


def confirm_page(number: str):
    order = owned_order(number, *CONFIRM_PAGE_SHOWS)
    if order.business_type in OWN_CONFIRM_PAGES:
        return redirect(url_for(OWN_CONFIRM_PAGES[order.business_type], number=number))
    editable = order.status in operations.APPLICANT_EDITABLE
    return render_template("public/confirm.html", order=order, regions=regions, editable=editable,
                           duplicates=operations.open_duplicates(db.session, order) if editable else None)


@limiter.limit("60/minute", methods=["POST"])
def materials_page(number: str):
    order = owned_order(number)
    errors: dict[str, str] = {}
    kinds = materials_of(order)
    if not kinds:  # nothing to upload (a revocation): confirming the order finishes this step
        return redirect(url_for("public.confirm_page", number=number))
    if request.method == "POST":
        errors = _receive_uploads(order, kinds)
        if not errors:
            flash(gettext("Materials uploaded."))
            return redirect(url_for("public.materials_page", number=number))
    current = current_materials(db.session, order)
    return render_template(
        "public/materials.html", order=order, kinds=list(kinds), current=current,
        errors=errors, complete=all(kind in current for kind in kinds),
        editable=order.status in operations.APPLICANT_EDITABLE,
    )


def _receive_uploads(order: Order, kinds: tuple[MaterialKind, ...] | list[MaterialKind], store=None) -> dict[str, str]:
    """Check and keep each uploaded file; `store` keeps one (default: the order's own upload)."""
    store = store or (lambda kind, image, filename: operations.store_material(
        db.session, _store(), order, kind, image, original_filename=filename, actor=_actor()))
    errors = {}
    config = current_app.config
    limit = config["MATERIAL_MAX_BYTES"]
    for kind in kinds:
        upload = request.files.get(kind.value)
        if upload is None or not upload.filename:
            continue
        try:
            filename = check_filename(upload.filename)
            with upload.stream:
                data = upload.read(limit + 1)
            image = check_image(data, limit, max_pixels=config["MATERIAL_MAX_PIXELS"],
                                max_side=config["MATERIAL_MAX_SIDE"])
            store(kind, image, filename)
        except InvalidUpload as exc:
            errors[kind.value] = gettext(str(exc))
        except StorageUnavailable as exc:
            errors[kind.value] = gettext(exc.message)
        except operations.NotEditable:
            errors[kind.value] = gettext("This order can no longer be changed.")
    if not errors and not any(f.filename for f in request.files.values()):
        errors["_form"] = gettext("Please choose at least one file.")
    return errors


@limiter.limit("30/minute", methods=["POST"])
def more_materials(number: str, token: str):
    """The page a reviewer's request links to: upload again just the documents named."""
    order = db.session.scalar(select(Order).where(Order.number == number)) or abort(404)
    material_request = review_operations.open_material_request(db.session, order, token)
    if material_request is None:
        return render_template("public/more_materials.html", order=None), 404
    kinds = [MaterialKind(k) for k in material_request.kinds]
    actor = "applicant:link"
    errors: dict[str, str] = {}
    if request.method == "POST":
        errors = _receive_uploads(order, kinds, lambda kind, image, filename: operations.store_requested_material(
            db.session, _store(), order, material_request, kind, image, original_filename=filename, actor=actor))
        if not errors and operations.finish_resubmission(db.session, order, material_request, actor=actor):
            return render_template("public/more_materials.html", order=order, finished=True)
    missing = operations.requested_still_missing(db.session, order, material_request)
    return render_template("public/more_materials.html", order=order, kinds=kinds, missing=missing,
                           errors=errors, message=material_request.message, finished=False)


@limiter.limit("30/minute")
def materials_done(number: str):
    order = owned_order(number)
    try:
        operations.finish_materials(db.session, order, actor=_actor())
    except operations.MaterialsIncomplete:
        flash(gettext("Please upload every material first."), "error")
        return redirect(url_for("public.materials_page", number=number))
    except operations.NotEditable:  # signed already (the back button): the signature page sends it on
        flash(gettext("This order can no longer be changed."), "error")
    return redirect(url_for("public.signature_page", number=number))


@writes
def material_image(number: str, material_id: int):
    """A material is shown to the session that uploaded it and to the staff who may see
    documents (the console's rule), nobody else; a staff member's view is audited like one in
    the review console."""
    staff = is_staff()
    if staff:
        if not review_operations.may_view_documents(current_user):
            abort(403)
        order = db.session.scalar(select(Order).where(Order.number == number)) or abort(404)
    else:
        order = owned_order(number)
    material = db.session.get(Material, material_id)
    if material is None or material.order_id != order.id:
        abort(404)
    if staff:
        review_operations.record_document_view(db.session, order, current_user, material.id)
    response = Response(_store().read(material.stored_name), mimetype=material.content_type)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Disposition"] = "inline"
    return response


@limiter.limit("10/minute;60/hour", methods=["POST"])  # each a guess at the SMS code
def signature_page(number: str):
    order = owned_order(number)
    if order.status == OrderStatus.AWAITING_MATERIALS:
        return redirect(url_for("public.materials_page", number=number))
    if order.status != OrderStatus.AWAITING_SIGNATURE:
        return redirect(url_for("public.done_page", number=number))
    error = None
    consent = operations.signature_consent(current_app.config["CA_NAME"], order.business_type, order.cert_kind)
    if request.method == "POST":
        try:
            operations.confirm_signature(db.session, _policy(), current_services(), order,
                                         request.form.get("sms_code", ""), consent=consent, actor=_actor())
            # Payment next, or (free of charge) the review: the done page says so.
            return redirect(url_for(next_step(order) or "public.done_page", number=number))
        except sms_codes.CodeInvalid as exc:
            error = gettext(str(exc))
    return render_template("public/signature.html", order=order, error=error, consent=consent)


@limiter.limit("5/minute;20/hour")
def signature_code(number: str):
    order = owned_order(number)
    try:
        operations.send_signature_code(db.session, _policy(), order, client_ip=request.remote_addr)
        flash(gettext("A code was sent to your phone.") if order.personal
              else gettext("A code was sent to the agent's phone."))
    except sms_codes.CodeRefused as exc:
        flash(gettext(str(exc)), "error")
    except operations.NotEditable:
        flash(gettext("This order can no longer be changed."), "error")
    return redirect(url_for("public.signature_page", number=number))


def done_page(number: str):
    order = owned_order(number)
    if order.business_type is BusinessType.REVOCATION:
        return render_template("public/revocation_done.html", order=order, next_step=next_step(order))
    if order.key_work == KEY_WORK_STATION:  # the key mailed in: where to send it, and its new password
        return render_template("public/mail_in_done.html", order=order, next_step=next_step(order),
                               invoices=invoices.invoices_of(db.session, order))
    if order.business_type in ON_THE_SAME_KEY:
        certificate = key_helper.new_certificate(db.session, order)
        if order.status is OrderStatus.COMPLETED and certificate is not None:
            return render_template("public/key_done.html", order=order, earlier=order.previous_order,
                                   certificate=certificate, invoices=invoices.invoices_of(db.session, order))
        if order.status is not OrderStatus.COMPLETED \
                and (helper := key_helper.of_order(db.session, order, session.get("applicant"))) is not None:
            return redirect(url_for("public.key_page", public_id=helper.public_id))
        if order.status not in UNPAID:  # in review, the key work next, or done without it
            return render_template("public/key_order_done.html", order=order, certificate=order.certificate,
                                   key_work_next=order.status in (OrderStatus.APPROVED, OrderStatus.PROGRAMMING),
                                   invoices=invoices.invoices_of(db.session, order))
    return render_template("public/done.html", order=order, invoices=invoices.invoices_of(db.session, order),
                           next_step=next_step(order), paid=order.paid_at is not None,
                           by_transfer=order.business_type in PAID_BY_TRANSFER)


@writes
@limiter.limit("30/minute")
def captcha_image():
    token = request.args.get("t", "")
    if not captcha.is_token(token):
        abort(404)
    response = Response(captcha.new_picture(db.session, current_app.config["SECRET_KEY"], token),
                        mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response


def regions_json():
    response = current_app.json.response(regions.as_json_for_browser())
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def legal_document(document: str):
    if document not in LEGAL_DOCUMENTS:
        abort(404)
    return render_template(f"public/legal/{document}.html")
