"""The senior reviewers' daily digest: where each queue stands and what is overdue."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Order, Organisation, Staff, StaffRole
from models.business_time import BUSINESS_TZ
from notifications.outbox import queue_email
from review import queues, sla
from review.navigation import QUEUE_LABELS, shanghai


def digest_text(session: Session, now: dt.datetime) -> str:
    calendar = sla.load_calendar(session)
    counts = queues.queue_counts(session, ttl=0)
    badges = queues.sla_badges(session, calendar, now, ttl=0)
    breached = session.scalar(select(func.count()).where(
        queues.IN_A_QUEUE, Order.sla_limit_at < now)) or 0
    overdue = session.execute(
        select(Order.number, Organisation.name, Order.sla_due_at, Order.sla_limit_at)
        .join(Organisation, Order.organisation_id == Organisation.id)
        .where(queues.IN_A_QUEUE, Order.sla_due_at < now)
        .order_by(Order.sla_due_at, Order.id).limit(20)).all()
    lines = [f"审核日报 {shanghai(now)}（北京时间）", ""]
    lines += [f"{QUEUE_LABELS[q]}：{counts[q]}" for q in QUEUE_LABELS]
    lines += ["", f"已超期：{badges['overdue']}　一个工作日内到期：{badges['due_soon']}　超过最长时限：{breached}"]
    if overdue:
        lines += ["", "最早超期的订单："]
        lines += [f"  {row.number}  {row.name}  应于 {shanghai(row.sla_due_at)} 完成，最迟 {shanghai(row.sla_limit_at)}"
                  for row in overdue]
    warning = sla.uncovered_warning(calendar, now + dt.timedelta(days=30))
    if warning:
        lines += ["", "注意：工作日历未覆盖下月的日期，请管理员补充调休安排。 " + warning]
    return "\n".join(lines) + "\n"


def send_daily_digest(session: Session, now: dt.datetime) -> int:
    """Queue the digest to every active senior reviewer with an e-mail address."""
    seniors = session.scalars(select(Staff).where(
        Staff.role == StaffRole.SENIOR_REVIEWER, Staff.active.is_(True), Staff.email.is_not(None))).all()
    if not seniors:
        return 0
    body = digest_text(session, now)
    for senior in seniors:
        queue_email(session, senior.email, f"审核日报 {now.astimezone(BUSINESS_TZ):%Y-%m-%d}", body, "review_digest")
    return len(seniors)
