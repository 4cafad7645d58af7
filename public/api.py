"""The JSON API for channels that integrate by program; each call carries the channel's key."""
from __future__ import annotations

import datetime as dt
from functools import wraps

from flask import current_app, g, jsonify, request
from flask_babel import force_locale
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField

from billing import checkout
from billing.services import BillingError, current_services
from documents.materials import InvalidUpload, check_image, current_materials
from documents.storage import DocumentStore, StorageUnavailable
from models import CertKind, MaterialKind, Order, OrderStatus
from models.base import utcnow
from models.business import required_materials
from public import catalogue, idempotency, openapi, operations, payments, sms_codes
from public.forms import AGREED, ApplicationForm, form_fields
from web.database import writes
from web.errors import InvalidValue
from web.extensions import db, limiter
from web.services import find_service


def _problem(status: int, message: str, **extra):
    return jsonify(error=message, **extra), status


def _channel_key() -> str:
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""


def channel_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        channel = catalogue.channel_by_api_key(db.session, _channel_key()) if _channel_key() else None
        if channel is None:
            return _problem(401, "a valid channel API key is required (Authorization: Bearer ...)")
        g.channel = channel
        return view(*args, **kwargs)

    return wrapped


def _actor() -> str:
    return f"api:channel:{g.channel.code}"


def _channel_order(number: str) -> Order | None:
    return db.session.scalar(
        select(Order).where(Order.number == number, Order.channel_id == g.channel.id)
    )


def order_required(view):
    @wraps(view)
    def wrapped(number: str, **kwargs):
        order = _channel_order(number)
        if order is None:
            return _problem(404, "no such order for this channel")
        return view(order, **kwargs)

    return wrapped


def _field_errors(errors: list[tuple[str | None, str]], status: int = 422):
    return jsonify(errors=[{"field": field, "message": message} for field, message in errors]), status


def _form_input(form_class: type, body: dict) -> tuple[MultiDict, list[tuple[str, str]]]:
    """The JSON body as the form's input, and the fields whose JSON type is wrong: an agreement
    is JSON true and nothing else (not "true", not 1); every other field is a string, or null
    for an empty one; a field the form does not have is refused."""
    kinds = form_fields(form_class)
    data, errors = MultiDict(), []
    for name, value in body.items():
        kind = kinds.get(name)
        if kind is None:
            errors.append((name, "unknown field"))
        elif issubclass(kind, BooleanField):
            if value is True:
                data[name] = AGREED
            else:
                errors.append((name, "must be JSON true: the applicant agrees"))
        elif value is None or isinstance(value, str):
            data[name] = value or ""
        else:
            errors.append((name, "must be a string"))
    return data, errors


def idempotent(view):
    """Honours an `Idempotency-Key` header (public.idempotency): the same key with the same
    request answers the first answer again with 200, with another request 422."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        header = request.headers.get("Idempotency-Key")
        if header is None:
            return view(*args, **kwargs)
        try:
            key = idempotency.check_key(header)
        except InvalidValue as exc:
            return _field_errors([("Idempotency-Key", str(exc))])
        digest = idempotency.request_digest(request.method, request.path, request.get_data())
        lifetime = dt.timedelta(hours=current_app.config["IDEMPOTENCY_KEY_HOURS"])
        try:
            claimed = idempotency.claim(db.session, g.channel, key, digest, now=utcnow(), lifetime=lifetime)
        except idempotency.KeyReused:
            return _field_errors([("Idempotency-Key", "this key was used with another request")])
        if isinstance(claimed, idempotency.Replay):
            return jsonify(claimed.response), 200
        response = current_app.make_response(view(*args, **kwargs))
        idempotency.keep(db.session, claimed, response.status_code, response.get_json(silent=True) or {})
        return response

    return wrapped


def _policy() -> sms_codes.CodePolicy:
    return sms_codes.CodePolicy.from_config(current_app.config)


def openapi_document():
    return jsonify(openapi.document())


@limiter.limit("60/minute", key_func=_channel_key)
@channel_required
def catalogue_listing():
    """The product and key-model codes an application takes, and what they cost this channel
    (a key model's price is added for a new key)."""
    return jsonify(catalogue.listing(db.session, g.channel))


@limiter.limit("120/minute", key_func=_channel_key)
@channel_required
@idempotent
def create_application():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _field_errors([(None, "the body must be a JSON object")])
    formdata, wrong_types = _form_input(ApplicationForm, body)
    if wrong_types:
        return _field_errors(wrong_types)
    with force_locale("en"):
        form = ApplicationForm(
            formdata=formdata, meta={"csrf": False},
            products=catalogue.products_for(db.session, g.channel, CertKind.UNIT),
            media_models=catalogue.media_models(db.session),
        )
        if not form.validate():
            return _field_errors([(name, str(message))
                                  for name, messages in form.errors.items() for message in messages])
    order = operations.submit_application(
        db.session, g.channel, form.data, actor=_actor(), applicant_secret=None
    )
    return jsonify(_status(order, current={})), 201  # a new order has no materials yet


@limiter.limit("300/minute", key_func=_channel_key)
@channel_required
@order_required
def application_status(order: Order):
    return jsonify(_status(order))


@limiter.limit("60/minute", key_func=_channel_key)
@channel_required
@order_required
def upload_material(order: Order, kind: str):
    try:
        material_kind = MaterialKind(kind)
        if material_kind not in required_materials(order.business_type):
            raise ValueError(kind)
    except ValueError:
        kinds = [k.value for k in required_materials(order.business_type)]
        return _problem(404, f"unknown material kind; one of {kinds}")
    config = current_app.config
    limit = config["MATERIAL_MAX_BYTES"]
    try:
        image = check_image(request.get_data(cache=False)[: limit + 1], limit,
                            max_pixels=config["MATERIAL_MAX_PIXELS"], max_side=config["MATERIAL_MAX_SIDE"])
        operations.store_material(
            db.session, find_service(DocumentStore), order,
            material_kind, image, original_filename=None, actor=_actor(),
        )
    except InvalidUpload as exc:
        return jsonify(errors=[{"field": kind, "message": str(exc)}]), 422
    except StorageUnavailable:
        return _problem(503, "the document store is unavailable; nothing was kept, try again")
    except operations.NotEditable:
        return _problem(409, "the order can no longer be changed")
    return jsonify(_status(order)), 200


# A channel's server asks for all its applicants: codes are counted per channel (an hourly
# budget, SMS_CODES_PER_CHANNEL_PER_HOUR) and per phone, never per IP.
@limiter.limit("120/minute", key_func=_channel_key)
@channel_required
@idempotent
@order_required
def send_signature_code(order: Order):
    try:
        operations.finish_materials(db.session, order, actor=_actor())
        operations.send_signature_code(db.session, _policy(), order, client_ip=None, channel=g.channel)
    except operations.MaterialsIncomplete as exc:
        return _problem(409, "materials missing", missing=[str(k) for k in exc.missing])
    except operations.NotEditable:
        return _problem(409, "the order is not waiting for a signature")
    except sms_codes.CodeRefused as exc:
        return _problem(429, str(exc))
    return jsonify(sent_to=order.agent.phone_masked, consent_text=_signature_consent()), 202


def _signature_consent() -> str:
    """The text the agent agrees to with the code: the channel shows it beside the code's field."""
    return operations.signature_consent(current_app.config["CA_NAME"])


@limiter.limit("60/minute", key_func=_channel_key)
@channel_required
@idempotent
@order_required
def confirm_signature(order: Order):
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _field_errors([(None, "the body must be a JSON object")])
    refused = [(name, message) for name, wrong, message in (
        ("sms_code", not isinstance(body.get("sms_code"), str), "must be a string"),
        ("consent", body.get("consent") is not True,
         "must be JSON true: the agent agrees to the signature consent text"),
    ) if wrong]
    if refused:
        return _field_errors(refused)
    try:
        operations.confirm_signature(db.session, _policy(), current_services(), order, body["sms_code"],
                                     consent=_signature_consent(), actor=_actor())
    except sms_codes.CodeInvalid as exc:
        return jsonify(errors=[{"field": "sms_code", "message": str(exc)}]), 422
    except operations.NotEditable:
        return _problem(409, "the order is not waiting for a signature")
    return jsonify(_status(order))


@limiter.limit("60/minute", key_func=_channel_key)
@channel_required
@order_required
@writes
def payment(order: Order):
    """The QR code a channel shows its applicant; the status endpoint tells when it is paid."""
    services = current_services()
    if order.status is OrderStatus.AWAITING_PAYMENT:
        payments.check_payment(db.session, services, order, now=utcnow())
    if order.status is not OrderStatus.AWAITING_PAYMENT:
        return _problem(409, "the order is not waiting for payment", order_status=str(order.status))
    try:
        trade, qr_code = checkout.payment_qr_code(db.session, services, order)
    except BillingError as exc:
        return _problem(503, str(exc))
    return jsonify(number=order.number, amount_cents=trade.amount_cents, qr_code=qr_code,
                   pay_before=services.payment_deadline(order).isoformat())


def _status(order: Order, current: dict | None = None) -> dict:
    """`current`: the order's current materials, when the caller knows them already."""
    current = current_materials(db.session, order) if current is None else current
    return {
        "number": order.number,
        "status": str(order.status),
        "business_type": str(order.business_type),
        "price_cents": order.price_cents,
        "created_at": order.created_at.isoformat(),
        "materials": {kind.value: kind in current for kind in required_materials(order.business_type)},
    }
