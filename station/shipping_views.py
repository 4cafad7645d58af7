"""Controllers of shipping at the station: password cards, parcels (ship, label, delivered, returned),
the day's labels and the courier's handover list."""
from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from fulfillment import cards, documents, shipping
from models import Courier, Order, Shipment
from models.base import utcnow
from models.business_time import BUSINESS_TZ
from station.forms import ActionForm, ReturnForm, ShipForm
from station.views import STAFF
from web.downloads import private_download
from web.errors import UserError
from web.extensions import db
from web.guards import roles_required
from web.request_guard import bounded_int


def _order(number: str) -> Order:
    return db.session.scalars(select(Order).where(Order.number == number)).first() or abort(404)


def _shipment(shipment_id: int) -> Shipment:
    return db.session.get(Shipment, shipment_id) or abort(404)


def _couriers() -> list[Courier]:
    return list(db.session.scalars(select(Courier).where(Courier.active.is_(True)).order_by(Courier.id)))


def _ship_form() -> ShipForm:
    form = ShipForm()
    form.courier.choices = [(c.id, c.name) for c in _couriers()]
    return form


def _today() -> dt.date:
    return utcnow().astimezone(BUSINESS_TZ).date()


def _day() -> dt.date:
    try:
        return dt.date.fromisoformat(request.args.get("day", "")[:10])
    except ValueError:
        return _today()


def _sender() -> dict:
    config = current_app.config
    return {"name": config["CA_NAME"], "phone": config["CA_SERVICE_PHONE"]}


@roles_required(*STAFF)
def shipping_page(form: ShipForm | None = None, failed: str | None = None, return_form: ReturnForm | None = None,
                  failed_shipment: int | None = None):
    waiting = shipping.to_ship(db.session)
    return render_template("station/shipping.html", waiting=waiting,
                           returns={o.id: shipping.last_return(db.session, o) for o in waiting},
                           in_transit=shipping.in_transit(db.session), ship_form=form or _ship_form(), failed=failed,
                           return_form=return_form or ReturnForm(), failed_shipment=failed_shipment,
                           action_form=ActionForm(), today=_today(), couriers=_couriers(),
                           prints_pin=current_app.config["PASSWORD_CARD_PRINTS_PIN"])


@roles_required(*STAFF)
def print_card(number: str):
    """The password card as a PDF, printed now: never stored; with the PIN once where the CA prints it."""
    if not ActionForm().validate_on_submit():
        abort(400)
    order = _order(number)
    try:
        card = cards.print_card(db.session, order, current_user.actor,
                                prints_pin=current_app.config["PASSWORD_CARD_PRINTS_PIN"])
    except UserError as refused:
        flash(_(refused.message, **refused.params), "error")
        return redirect(url_for("station.shipping_page"))
    return private_download(card.pdf, f"password-card-{order.password_card_number}.pdf", "application/pdf")


@roles_required(*STAFF)
def ship(number: str):
    order = _order(number)
    form = _ship_form()
    if not form.validate_on_submit():
        return shipping_page(form=form, failed=number), 422
    courier = db.session.get(Courier, form.courier.data) or abort(404)
    try:
        shipment = shipping.ship(db.session, order, courier, form.tracking_number.data, current_user)
    except UserError as refused:
        form.tracking_number.errors = [_(refused.message, **refused.params)]
        return shipping_page(form=form, failed=number), 422
    flash(_("Order %(number)s shipped: %(courier)s %(tracking)s.", number=order.number, courier=courier.name,
            tracking=shipment.tracking_number), "success")
    return redirect(url_for("station.shipping_page"))


@roles_required(*STAFF)
def delivered(shipment_id: int):
    shipment = _shipment(shipment_id)
    if ActionForm().validate_on_submit():
        try:
            shipping.confirm_delivery(db.session, shipment, current_user.actor)
        except UserError as refused:
            flash(_(refused.message, **refused.params), "error")
        else:
            flash(_("Order %(number)s delivered and completed.", number=shipment.order.number), "success")
    return redirect(url_for("station.shipping_page"))


@roles_required(*STAFF)
def returned(shipment_id: int):
    shipment = _shipment(shipment_id)
    form = ReturnForm()
    if not form.validate_on_submit():
        return shipping_page(return_form=form, failed_shipment=shipment_id), 422
    try:
        shipping.mark_returned(db.session, shipment, form.reason.data, current_user.actor)
    except UserError as refused:
        form.reason.errors = [_(refused.message, **refused.params)]
        return shipping_page(return_form=form, failed_shipment=shipment_id), 422
    flash(_("The parcel of order %(number)s is back: it waits to be shipped again.",
            number=shipment.order.number), "info")
    return redirect(url_for("station.shipping_page"))


@roles_required(*STAFF)
def label(shipment_id: int):
    shipment = _shipment(shipment_id)
    return private_download(documents.labels_pdf([shipment], _sender()), f"label-{shipment.tracking_number}.pdf",
                            "application/pdf")


@roles_required(*STAFF)
def day_labels():
    """The day's labels in one PDF, one per page, for batch printing."""
    day = _day()
    shipments = shipping.shipped_on(db.session, day, _courier_filter())
    if not shipments:
        flash(_("No parcel was shipped on %(day)s.", day=day.isoformat()), "info")
        return redirect(url_for("station.shipping_page"))
    return private_download(documents.labels_pdf(shipments, _sender()), f"labels-{day.isoformat()}.pdf",
                            "application/pdf")


@roles_required(*STAFF)
def handover():
    """The day's handover list for the courier to count and sign (one courier's with ?courier=)."""
    day = _day()
    shipments = shipping.shipped_on(db.session, day, _courier_filter())
    return private_download(documents.handover_pdf(day, shipments, _sender()), f"handover-{day.isoformat()}.pdf",
                            "application/pdf")


def _courier_filter() -> Courier | None:
    courier_id = request.args.get("courier", type=bounded_int)
    return db.session.get(Courier, courier_id) if courier_id else None
