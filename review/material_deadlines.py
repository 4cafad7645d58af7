"""A request for more materials runs for its days (15, review.operations.request_materials): the
applicant is reminded on day 7 and on day 14, with the link the request sent; once its time is up the
order is cancelled, its payment refunded, and the applicant told. Before, it stayed paused for ever.

Days are counted on the CA's calendar (Beijing) from the day of the request, day 0. The scheduled
`review material-deadlines` runs once a day; a run that missed days sends the latest reminder due,
once, never the stale one before it (on day 14 only the second; none once the request has lapsed).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing import refunds
from models import MaterialKind, MaterialRequest, Order, OrderStatus, record
from models.base import update_if
from models.business_time import business_date, days_between
from review import messages
from review.operations import material_link

REMINDER_DAYS = (7, 14)
ACTOR = "system:material-deadlines"
ORDER_QUERY = "/query"  # a request made before its token was kept: the applicant finds it by the order query


def day_of(request: MaterialRequest, now: dt.datetime) -> int:
    """Which day of the request today is (the day it was made: 0)."""
    return days_between(request.requested_at, now)


def reminder_due(request: MaterialRequest, now: dt.datetime) -> int | None:
    """The reminder day due now, if any: the latest of REMINDER_DAYS reached and not yet sent."""
    if request.expires_at <= now:
        return None
    reached = [day for day in REMINDER_DAYS if day <= day_of(request, now)]
    if not reached or (request.reminded_on_day or 0) >= reached[-1]:
        return None
    return reached[-1]


def open_requests(session: Session) -> list[int]:
    """Requests still waiting for the applicant: not answered, not lapsed, their order paused."""
    return list(session.scalars(
        select(MaterialRequest.id).join(Order, Order.id == MaterialRequest.order_id)
        .where(MaterialRequest.fulfilled_at.is_(None), MaterialRequest.lapsed_at.is_(None),
               Order.status == OrderStatus.MORE_MATERIALS_NEEDED)
        .order_by(MaterialRequest.id)))


def follow_up(session: Session, request: MaterialRequest, *, public_base_url: str, now: dt.datetime) -> str | None:
    """What today asks of the request: "lapsed" (cancelled and refunded), "reminded", or None."""
    if request.expires_at <= now:
        return "lapsed" if lapse(session, request, now=now) else None
    day = reminder_due(request, now)
    if day is not None and remind(session, request, day, public_base_url=public_base_url):
        return "reminded"
    return None


def remind(session: Session, request: MaterialRequest, day: int, *, public_base_url: str) -> bool:
    """Send the day's reminder, once (a conditional UPDATE decides between two runs at once)."""
    earlier = request.reminded_on_day or 0
    if not update_if(session, request, (MaterialRequest.reminded_on_day.is_(None)
                                        | (MaterialRequest.reminded_on_day == earlier)), reminded_on_day=day):
        return False
    order = session.get(Order, request.order_id)
    link = (material_link(public_base_url, order, request.token) if request.token
            else public_base_url.rstrip("/") + ORDER_QUERY)
    messages.more_materials_reminder(session, order, [MaterialKind(kind) for kind in request.kinds], link,
                                     request.expires_at)
    record(session, ACTOR, "material_request.reminded", order=order, after={"day": day})
    return True


def lapse(session: Session, request: MaterialRequest, *, now: dt.datetime) -> bool:
    """The request's time is up: the order is cancelled, its payment refunded, the applicant told."""
    if not update_if(session, request, MaterialRequest.lapsed_at.is_(None), MaterialRequest.fulfilled_at.is_(None),
                     lapsed_at=now):
        return False
    order = session.get(Order, request.order_id)
    order.queue, order.reviewer_id, order.claimed_at = None, None, None
    order.move_to(OrderStatus.CANCELLED, ACTOR,
                  note=f"more materials not sent by {business_date(request.expires_at)}")
    refund = refunds.refund_for_lapsed_request(session, order, actor=ACTOR, now=now)
    messages.more_materials_lapsed(session, order, refunded=refund is not None)
    return True
