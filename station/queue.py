"""The station's job queue: approved orders with a key to program and ship (models.business.
programmed_at_station: a new key, or the applicant's own mailed in for a renewal or information change;
not a revocation) that are paid or free of charge, by shipping due time
(approval + 5 working days, as the seed promises), and the jobs in hand."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, joinedload

from models import (
    BusinessType,
    Certificate,
    CertificateStatus,
    JobStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    ProgrammingJob,
)
from models.business import programmed_at_station_sql
from models.working_days import WorkingCalendar

SHIPPING_WORKING_DAYS = 5


def _paid_or_free():
    return or_(Order.price_cents == 0, exists().where(Payment.order_id == Order.id,
                                                       Payment.status == PaymentStatus.PAID))


def _nothing_to_revoke_first():
    """A replacement waits until the lost or damaged key's certificate is revoked (the signing service
    refuses its new one before that: issuance.policy)."""
    return or_(Order.business_type != BusinessType.REPLACEMENT, Order.certificate_id.is_(None),
               exists().where(Certificate.id == Order.certificate_id, Certificate.status == CertificateStatus.REVOKED))


def waiting_orders(session: Session, limit: int = 200) -> list[Order]:
    """Approved orders no one has claimed, most urgent first. Adding working days keeps the order of
    the start times, so the approval time orders them by shipping due time."""
    return list(session.scalars(
        select(Order).where(Order.status == OrderStatus.APPROVED, programmed_at_station_sql(), _paid_or_free(),
                            _nothing_to_revoke_first(), ~exists().where(ProgrammingJob.order_id == Order.id))
        .options(joinedload(Order.organisation), joinedload(Order.agent), joinedload(Order.product),
                 joinedload(Order.media_model))
        .order_by(Order.approved_at, Order.id).limit(limit)))


def jobs_in_hand(session: Session) -> list[ProgrammingJob]:
    """Jobs claimed, started or interrupted (done ones are in the order's history)."""
    return list(session.scalars(
        select(ProgrammingJob).where(ProgrammingJob.status != JobStatus.DONE)
        .options(joinedload(ProgrammingJob.order).joinedload(Order.organisation),
                 joinedload(ProgrammingJob.order).joinedload(Order.agent),
                 joinedload(ProgrammingJob.claimed_by), joinedload(ProgrammingJob.station))
        .join(Order, ProgrammingJob.order_id == Order.id).order_by(Order.approved_at, ProgrammingJob.id)))


def done_today(session: Session, since: dt.datetime) -> list[ProgrammingJob]:
    return list(session.scalars(
        select(ProgrammingJob).where(ProgrammingJob.status == JobStatus.DONE, ProgrammingJob.finished_at >= since)
        .options(joinedload(ProgrammingJob.order)).order_by(ProgrammingJob.finished_at.desc()).limit(100)))


def shipping_due(order: Order, calendar: WorkingCalendar) -> dt.datetime | None:
    if order.approved_at is None:
        return None
    return calendar.add_working_days(order.approved_at, SHIPPING_WORKING_DAYS)
