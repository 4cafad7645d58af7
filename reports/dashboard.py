"""The dashboard's figures for senior reviewers and admins, each answered by one aggregate statement
(GROUP BY in the database), alike on SQLite and PostgreSQL.

Working time comes from the duration each decision stored (review_decision.working_seconds), so no
statement needs a calendar; the calendar only turns "now" into the bounds the statements compare with
(the end of the next working day, the start of this week and month in Beijing time). Percentiles are
computed in SQL with window functions (nearest rank), which both databases have.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import String, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from models import (
    BusinessType,
    Decision,
    JobStatus,
    Order,
    OrderStatus,
    ProgrammingJob,
    RejectionReason,
    ReviewDecision,
    ReviewQueue,
    Staff,
    Station,
)
from models.business_time import BUSINESS_TZ, Days, day_start
from models.working_days import WorkingCalendar
from reports.beijing_sql import business_day

IN_REVIEW = (OrderStatus.PAID, OrderStatus.IN_REVIEW)  # waiting for a reviewer, not for the applicant
RESULTS = (Decision.APPROVE, Decision.REJECT)  # the decisions that end a review
HOUR = 3600


def as_date(value) -> dt.date:
    """SQLite answers a date as text."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


@dataclass(frozen=True)
class ReportFilter:
    """What every report takes: Beijing days first..last (inclusive), a channel, a business type."""

    first: dt.date
    last: dt.date
    channel_id: int | None = None
    business_type: BusinessType | None = None

    @classmethod
    def last_days(cls, today: dt.date, days: int = 30, **kw) -> ReportFilter:
        return cls(today - dt.timedelta(days=days - 1), today, **kw)

    def orders(self) -> list:
        """The channel and business-type conditions on Order."""
        found = []
        if self.channel_id is not None:
            found.append(Order.channel_id == self.channel_id)
        if self.business_type is not None:
            found.append(Order.business_type == self.business_type)
        return found

    def of_orders(self, query, order_id):
        """The query narrowed by orders() through its rows' order (order_id, never null). Joined only
        when there is a condition: the join alone drops no row, and skips reading the order table."""
        if not self.orders():
            return query
        return query.join(Order, Order.id == order_id).where(*self.orders())

    def within(self, column) -> list:
        return Days(self.first, self.last).conditions(column)


@dataclass(frozen=True)
class QueueLoad:
    queue: ReviewQueue
    waiting: int
    overdue: int
    due_within_a_day: int


@dataclass(frozen=True)
class Compliance:
    business_type: BusinessType
    week_decided: int
    week_on_time: int
    month_decided: int
    month_on_time: int

    @property
    def week_share(self) -> float | None:
        return self.week_on_time / self.week_decided if self.week_decided else None

    @property
    def month_share(self) -> float | None:
        return self.month_on_time / self.month_decided if self.month_decided else None


@dataclass(frozen=True)
class ReviewTime:
    decided: int
    median_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True)
class Dashboard:
    filters: ReportFilter
    backlog: list[QueueLoad]
    compliance: list[Compliance]
    review_time: ReviewTime
    throughput: list[tuple[dt.date, str, int]]  # day, reviewer, decisions
    rejection_reasons: list[tuple[str, str, int]]  # Chinese text, English text, rejections
    issuance: list[tuple[dt.date, str, int]]  # day, station, keys programmed


def backlog(session: Session, filters: ReportFilter, calendar: WorkingCalendar, now: dt.datetime) -> list[QueueLoad]:
    """Today's backlog per queue, with the items past their target and those due by the end of the
    next working day."""
    soon = calendar.end_of_working_day(now, 1)
    rows = session.execute(
        select(Order.queue, func.count(),
               func.sum(case((Order.sla_due_at < now, 1), else_=0)),
               func.sum(case((and_(Order.sla_due_at >= now, Order.sla_due_at < soon), 1), else_=0)))
        .where(Order.queue.is_not(None), Order.status.in_(IN_REVIEW), *filters.orders())
        .group_by(Order.queue))
    loads = {queue: QueueLoad(queue, n, overdue or 0, due or 0) for queue, n, overdue, due in rows}
    return [loads.get(queue, QueueLoad(queue, 0, 0, 0)) for queue in ReviewQueue]


def compliance(session: Session, filters: ReportFilter, now: dt.datetime) -> list[Compliance]:
    """Per business type, the orders decided this week and this month (Beijing time) and how many of
    them within their working-day target (the due time, moved on by any wait for materials)."""
    today = now.astimezone(BUSINESS_TZ).date()
    week, month = day_start(today - dt.timedelta(days=today.weekday())), day_start(today.replace(day=1))
    decided = func.coalesce(Order.approved_at, Order.rejected_at)
    on_time = decided <= Order.sla_due_at

    def count(since, *also):
        return func.sum(case((and_(decided >= since, *also), 1), else_=0))

    rows = session.execute(
        select(Order.business_type, count(week), count(week, on_time), count(month), count(month, on_time))
        .where(Order.sla_due_at.is_not(None), decided >= min(week, month), decided <= now, *filters.orders())
        .group_by(Order.business_type))
    found = {bt: Compliance(bt, *(n or 0 for n in counts)) for bt, *counts in rows}
    return [found[bt] for bt in BusinessType if bt in found]


def review_time(session: Session, filters: ReportFilter) -> ReviewTime:
    """Median and 90th percentile (nearest rank) of the working time to a result, in hours."""
    ranked = filters.of_orders(
        select(ReviewDecision.working_seconds.label("seconds"),
               func.row_number().over(order_by=ReviewDecision.working_seconds).label("rank"),
               func.count().over().label("n"))
        .where(ReviewDecision.decision.in_(RESULTS), ReviewDecision.working_seconds.is_not(None),
               *filters.within(ReviewDecision.decided_at)),
        ReviewDecision.order_id).subquery()
    median_rank, p90_rank = (ranked.c.n * 50 + 99) // 100, (ranked.c.n * 90 + 99) // 100
    rows = session.execute(select(ranked.c.n, ranked.c.seconds, ranked.c.rank == median_rank,
                                  ranked.c.rank == p90_rank)
                           .where(or_(ranked.c.rank == median_rank, ranked.c.rank == p90_rank))).all()
    if not rows:
        return ReviewTime(0, None, None)
    median = next(seconds for _, seconds, is_median, _ in rows if is_median)
    p90 = next(seconds for _, seconds, _, is_p90 in rows if is_p90)
    return ReviewTime(rows[0][0], median / HOUR, p90 / HOUR)


def throughput(session: Session, filters: ReportFilter) -> list[tuple[dt.date, str, int]]:
    """Decisions per reviewer per day, latest day first."""
    day = business_day(ReviewDecision.decided_at)
    rows = session.execute(filters.of_orders(
        select(day, Staff.display_name, func.count())
        .join(Staff, Staff.id == ReviewDecision.staff_id).where(*filters.within(ReviewDecision.decided_at)),
        ReviewDecision.order_id).group_by(day, Staff.id, Staff.display_name).order_by(day.desc(), Staff.display_name))
    return [(as_date(d), name, n) for d, name, n in rows]


def _reason_ids(session: Session):
    """The elements of review_decision.reason_ids (a JSON list) as a table of "value"s."""
    if session.get_bind().dialect.name == "postgresql":
        # A rejection with a note only stores JSON null, whose elements PostgreSQL refuses to list.
        listed = case((func.json_typeof(ReviewDecision.reason_ids) == "array", ReviewDecision.reason_ids),
                      else_=cast(literal("[]", String), ReviewDecision.reason_ids.type))
        return func.json_array_elements_text(listed).table_valued("value")
    return func.json_each(ReviewDecision.reason_ids).table_valued("value")


def rejection_reasons(session: Session, filters: ReportFilter) -> list[tuple[str, str, int]]:
    """The reasons rejections gave, most given first."""
    reason = _reason_ids(session)
    n = func.count().label("n")
    rows = session.execute(filters.of_orders(
        select(RejectionReason.text_zh, RejectionReason.text_en, n)
        .select_from(ReviewDecision).join(reason, ReviewDecision.reason_ids.is_not(None))
        .join(RejectionReason, func.cast(reason.c.value, RejectionReason.id.type) == RejectionReason.id)
        .where(ReviewDecision.decision == Decision.REJECT, *filters.within(ReviewDecision.decided_at)),
        ReviewDecision.order_id)
        .group_by(RejectionReason.id, RejectionReason.text_zh, RejectionReason.text_en)
        .order_by(n.desc(), RejectionReason.position))
    return [tuple(row) for row in rows]


def issuance(session: Session, filters: ReportFilter) -> list[tuple[dt.date, str, int]]:
    """Keys programmed (jobs done) per station and day, latest day first."""
    day = business_day(ProgrammingJob.finished_at)
    rows = session.execute(filters.of_orders(
        select(day, Station.name, func.count())
        .join(Station, Station.id == ProgrammingJob.station_id)
        .where(ProgrammingJob.status == JobStatus.DONE, *filters.within(ProgrammingJob.finished_at)),
        ProgrammingJob.order_id).group_by(day, Station.id, Station.name).order_by(day.desc(), Station.name))
    return [(as_date(d), name, n) for d, name, n in rows]


def dashboard(session: Session, filters: ReportFilter, calendar: WorkingCalendar, now: dt.datetime) -> Dashboard:
    return Dashboard(filters, backlog(session, filters, calendar, now), compliance(session, filters, now),
                     review_time(session, filters), throughput(session, filters),
                     rejection_reasons(session, filters), issuance(session, filters))
