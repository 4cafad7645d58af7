"""The senior reviewers' daily digest: where each queue stands and what is overdue
(templates/emails/review_digest/)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Order, Staff, StaffRole
from models.business_time import business_date
from models.holders import HOLDER_NAME, with_holder
from notifications.messages import EmailContent, render_email
from notifications.outbox import queue_email
from review import queues, sla
from review.navigation import QUEUE_LABELS, shanghai


def digest(session: Session, now: dt.datetime) -> EmailContent:
    calendar = sla.load_calendar(session)
    counts = queues.queue_counts(session, ttl=0)
    badges = queues.sla_badges(session, calendar, now, ttl=0)
    breached = session.scalar(select(func.count()).where(
        queues.IN_A_QUEUE, Order.sla_limit_at < now)) or 0
    overdue = session.execute(
        with_holder(select(Order.number, HOLDER_NAME.label("name"), Order.sla_due_at, Order.sla_limit_at))
        .where(queues.IN_A_QUEUE, Order.sla_due_at < now)
        .order_by(Order.sla_due_at, Order.id).limit(20)).all()
    return render_email(
        "review_digest", day=business_date(now), now=shanghai(now),
        queues=[(str(QUEUE_LABELS[q]), counts[q]) for q in QUEUE_LABELS],
        overdue=badges["overdue"], due_soon=badges["due_soon"], breached=breached,
        earliest=[{"number": row.number, "name": row.name, "due": shanghai(row.sla_due_at),
                   "limit": shanghai(row.sla_limit_at)} for row in overdue],
        calendar_warning=sla.uncovered_warning(calendar, now + dt.timedelta(days=30)))


def send_daily_digest(session: Session, now: dt.datetime) -> int:
    """Queue the digest to every active senior reviewer with an e-mail address."""
    seniors = session.scalars(select(Staff).where(
        Staff.role == StaffRole.SENIOR_REVIEWER, Staff.active.is_(True), Staff.email.is_not(None))).all()
    if not seniors:
        return 0
    message = digest(session, now)
    for senior in seniors:
        queue_email(session, senior.email, message)
    return len(seniors)
