"""The JSON API for channels that integrate by program; each call carries the channel's key."""
from __future__ import annotations

from functools import wraps

from flask import current_app, g, jsonify, request
from flask_babel import force_locale
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

import billing
from backoffice.extensions import db, limiter
from billing import checkout
from billing.services import BillingError
from models import MaterialKind, Order, OrderStatus
from models.base import utcnow
from public import catalogue, openapi, operations, payments, sms_codes
from public.forms import ApplicationForm
from public.materials import InvalidUpload, MaterialStore, check_image


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


def _as_formdata(body: dict) -> MultiDict:
    def text(value):
        if isinstance(value, bool):
            return "y" if value else ""
        return "" if value is None else str(value)

    return MultiDict({key: text(value) for key, value in body.items()})


def _policy() -> sms_codes.CodePolicy:
    return sms_codes.CodePolicy.from_config(current_app.config)


def openapi_document():
    return jsonify(openapi.document())


@limiter.limit("120/minute", key_func=_channel_key)
@channel_required
def create_application():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(errors=[{"field": None, "message": "the body must be a JSON object"}]), 422
    with force_locale("en"):
        form = ApplicationForm(
            formdata=_as_formdata(body), meta={"csrf": False},
            products=catalogue.products_for(db.session, g.channel),
            media_models=catalogue.media_models(db.session),
        )
        if not form.validate():
            errors = [{"field": name, "message": str(message)}
                      for name, messages in form.errors.items() for message in messages]
            return jsonify(errors=errors), 422
    order = operations.submit_application(
        db.session, g.channel, form.data, actor=_actor(), applicant_secret=None
    )
    return jsonify(_status(order)), 201


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
    except ValueError:
        return _problem(404, f"unknown material kind; one of {[k.value for k in MaterialKind]}")
    config = current_app.config
    limit = config["MATERIAL_MAX_BYTES"]
    try:
        image = check_image(request.get_data(cache=False)[: limit + 1], limit,
                            max_pixels=config["MATERIAL_MAX_PIXELS"], max_side=config["MATERIAL_MAX_SIDE"])
        operations.store_material(
            db.session, MaterialStore(config["UPLOAD_FOLDER"]), order,
            material_kind, image, original_filename=None, actor=_actor(),
        )
    except InvalidUpload as exc:
        return jsonify(errors=[{"field": kind, "message": str(exc)}]), 422
    except operations.NotEditable:
        return _problem(409, "the order can no longer be changed")
    return jsonify(_status(order)), 200


@limiter.limit("5/minute", key_func=_channel_key)
@channel_required
@order_required
def send_signature_code(order: Order):
    try:
        operations.finish_materials(db.session, order, actor=_actor())
        operations.send_signature_code(db.session, _policy(), order, client_ip=request.remote_addr)
    except operations.MaterialsIncomplete as exc:
        return _problem(409, "materials missing", missing=[str(k) for k in exc.missing])
    except operations.NotEditable:
        return _problem(409, "the order is not waiting for a signature")
    except sms_codes.CodeRefused as exc:
        return _problem(429, str(exc))
    return jsonify(sent_to=order.agent.phone_masked), 202


@channel_required
@order_required
def confirm_signature(order: Order):
    body = request.get_json(silent=True) or {}
    try:
        operations.confirm_signature(
            db.session, _policy(), billing.services(), order, str(body.get("sms_code", "")), actor=_actor()
        )
    except sms_codes.CodeInvalid as exc:
        return jsonify(errors=[{"field": "sms_code", "message": str(exc)}]), 422
    except operations.NotEditable:
        return _problem(409, "the order is not waiting for a signature")
    return jsonify(_status(order))


@limiter.limit("60/minute", key_func=_channel_key)
@channel_required
@order_required
def payment(order: Order):
    """The QR code a channel shows its applicant; the status endpoint tells when it is paid."""
    services = billing.services()
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


def _status(order: Order) -> dict:
    current = operations.current_materials(db.session, order)
    return {
        "number": order.number,
        "status": str(order.status),
        "business_type": str(order.business_type),
        "price_cents": order.price_cents,
        "created_at": order.created_at.isoformat(),
        "materials": {kind.value: kind in current for kind in MaterialKind},
    }
