"""Shipping a programmed key: the parcel (courier and tracking number, typed or scanned), its label,
the day's handover list for the courier, the applicant told by SMS and e-mail, and the end of the
parcel: delivered (confirmed by hand or by the courier's tracking service, which completes the order)
or returned / undeliverable (the order waits to be shipped again, the applicant is told why).
Operations flush and never commit."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from documents import regions
from fulfillment import stock
from fulfillment.couriers import CourierTracking, TrackingState, TrackingUnavailable
from models import (
    Courier,
    Order,
    OrderStatus,
    Shipment,
    ShipmentStatus,
    Staff,
    Token,
    TokenState,
)
from models.base import utcnow
from models.business_time import BUSINESS_TZ
from notifications.messages import render_email, render_sms
from notifications.outbox import queue_email, queue_sms
from web.errors import N_, UserError

TRACKING_NUMBER = re.compile(r"[A-Za-z0-9-]{6,40}")


def address_of(order: Order) -> str:
    return "".join(filter(None, [regions.province_name(order.mailing_province), regions.city_name(order.mailing_city),
                                 order.mailing_address]))


def to_ship(session: Session) -> list[Order]:
    """Programmed keys waiting for their parcel, the oldest approval first (their due time's order)."""
    return list(session.scalars(
        select(Order).where(Order.status == OrderStatus.PROGRAMMED)
        .options(joinedload(Order.organisation), joinedload(Order.agent))
        .order_by(Order.approved_at, Order.id)))


def last_return(session: Session, order: Order) -> Shipment | None:
    return session.scalars(select(Shipment).where(Shipment.order_id == order.id,
                                                  Shipment.status == ShipmentStatus.RETURNED)
                           .order_by(Shipment.id.desc())).first()


def in_transit(session: Session) -> list[Shipment]:
    return list(session.scalars(
        select(Shipment).where(Shipment.status == ShipmentStatus.IN_TRANSIT)
        .options(joinedload(Shipment.order), joinedload(Shipment.courier)).order_by(Shipment.shipped_at)))


def shipped_on(session: Session, day: dt.date, courier: Courier | None = None) -> list[Shipment]:
    """The parcels handed to couriers on `day` (Beijing time), one courier's if given."""
    start = dt.datetime.combine(day, dt.time(), BUSINESS_TZ)
    query = (select(Shipment).where(Shipment.shipped_at >= start, Shipment.shipped_at < start + dt.timedelta(days=1))
             .options(joinedload(Shipment.order).joinedload(Order.organisation), joinedload(Shipment.courier))
             .order_by(Shipment.courier_id, Shipment.shipped_at))
    if courier is not None:
        query = query.where(Shipment.courier_id == courier.id)
    return list(session.scalars(query))


def _key_of(session: Session, order: Order) -> Token | None:
    return session.scalars(select(Token).where(Token.order_id == order.id)).first()


def ship(session: Session, order: Order, courier: Courier, tracking_number: str, staff: Staff) -> Shipment:
    """Hand the key to the courier: the order is shipped, the applicant gets the tracking number."""
    number = tracking_number.strip().replace(" ", "")
    if order.status is not OrderStatus.PROGRAMMED:
        raise UserError(N_("Order %(number)s has no programmed key waiting to be shipped."), number=order.number)
    if order.password_card_printed_at is None:
        raise UserError(N_("Print the password card of order %(number)s first: it goes in the parcel."),
                        number=order.number)
    if not TRACKING_NUMBER.fullmatch(number):
        raise UserError(N_("A tracking number is 6 to 40 letters, digits or dashes."))
    if not courier.active:
        raise UserError(N_("%(courier)s is no longer a courier we ship with."), courier=courier.name)
    shipment = Shipment(order=order, courier=courier, tracking_number=number, shipped_by_id=staff.id,
                        recipient=order.agent.name, phone=order.agent.phone or "", address=address_of(order))
    try:
        with session.begin_nested():
            session.add(shipment)
    except IntegrityError:
        raise UserError(N_("%(courier)s tracking number %(tracking)s is on another parcel already."),
                        courier=courier.name, tracking=number) from None
    order.move_to(OrderStatus.SHIPPED, staff.actor, note=f"{courier.name} {number}")
    if (key := _key_of(session, order)) is not None and key.state is TokenState.PROGRAMMED:
        key.move_to(TokenState.SHIPPED, staff.actor, note=f"{courier.name} {number}")
    stock.use_envelope(session, order, staff.actor)
    _tell(session, order, "shipped", courier=courier.name, tracking=number)
    return shipment


def confirm_delivery(session: Session, shipment: Shipment, actor: str, at: dt.datetime | None = None) -> None:
    """Delivered (by hand, or as the courier's tracking service says): the order is completed."""
    if shipment.status is not ShipmentStatus.IN_TRANSIT:
        raise UserError(N_("This parcel is not on its way any more."))
    shipment.status, shipment.delivered_at, shipment.confirmed_by = ShipmentStatus.DELIVERED, at or utcnow(), actor
    order = shipment.order
    order.move_to(OrderStatus.COMPLETED, actor, note=f"delivered, {shipment.courier.name} {shipment.tracking_number}")
    if (key := _key_of(session, order)) is not None and key.state is TokenState.SHIPPED:
        key.move_to(TokenState.ACTIVE, actor, note="delivered")


def mark_returned(session: Session, shipment: Shipment, reason: str, actor: str,
                  at: dt.datetime | None = None) -> None:
    """Returned or undeliverable: the key waits to be shipped again; the applicant is told why."""
    if shipment.status is not ShipmentStatus.IN_TRANSIT:
        raise UserError(N_("This parcel is not on its way any more."))
    reason = reason.strip()
    if not reason:
        raise UserError(N_("Say why the parcel came back."))
    shipment.status, shipment.returned_at, shipment.return_reason = ShipmentStatus.RETURNED, at or utcnow(), \
        reason[:255]
    shipment.confirmed_by = actor
    order = shipment.order
    order.move_to(OrderStatus.PROGRAMMED, actor, note=f"parcel returned: {reason[:200]}")
    if (key := _key_of(session, order)) is not None and key.state is TokenState.SHIPPED:
        key.move_to(TokenState.PROGRAMMED, actor, note="parcel returned")
    _tell(session, order, "parcel_returned", courier=shipment.courier.name, tracking=shipment.tracking_number,
          reason=reason[:200])


@dataclass
class Tracked:
    delivered: int = 0
    returned: int = 0
    in_transit: int = 0
    unavailable: int = 0


def track_parcels(session: Session, tracking: CourierTracking, now: dt.datetime | None = None) -> Tracked:
    """Ask the courier's tracking service about every parcel on its way (a scheduled command)."""
    now = now or utcnow()
    counts = Tracked()
    for shipment in in_transit(session):
        try:
            found = tracking.track(shipment.courier.code, shipment.tracking_number, shipped_at=shipment.shipped_at,
                                   phone=shipment.phone or None)
        except TrackingUnavailable:
            counts.unavailable += 1
            continue
        shipment.last_checked_at = now
        actor = f"courier:{shipment.courier.code}"
        if found.state is TrackingState.DELIVERED:
            confirm_delivery(session, shipment, actor, found.at)
            counts.delivered += 1
        elif found.state is TrackingState.RETURNED:
            mark_returned(session, shipment, found.detail or "退回", actor, found.at)
            counts.returned += 1
        else:
            counts.in_transit += 1
    return counts


def _tell(session: Session, order: Order, kind: str, **facts: object) -> None:
    facts = {"number": order.number, **facts}
    queue_sms(session, order.agent.phone, render_sms(kind, **facts), order=order)
    if order.agent.email:
        queue_email(session, order.agent.email, render_email(kind, agent_name=order.agent.name, **facts), order=order)
