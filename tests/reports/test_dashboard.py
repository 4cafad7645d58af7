"""The dashboard's figures against a fixture computed by hand: a day off the admins declared (it moves
"due within one working day"), a due time moved on by a wait for materials, stored working times,
filters by channel and business type."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from models import (
    BusinessType,
    CalendarOverride,
    Channel,
    Decision,
    JobStatus,
    OrderStatus,
    ProgrammingJob,
    RejectionReason,
    ReviewDecision,
    ReviewQueue,
    StaffRole,
    Station,
)
from models.working_days import load_calendar
from reports import dashboard
from reports.dashboard import ReportFilter
from tests import factories

pytestmark = pytest.mark.usefixtures("in_app")

BEIJING = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=BEIJING)  # Wednesday 10:00; Thursday the 26th is a day off
NOVEMBER = ReportFilter(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
H = 3600


def at(day: int, hour: int = 10, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=BEIJING)


@pytest.fixture
def figures(app, db_session):
    """Orders waiting, decided, rejected with reasons, and keys programmed, as the docstrings say."""
    db_session.add(CalendarOverride(day=dt.date(2026, 11, 26), is_workday=False, note="outing", added_by="admin"))
    folder = app.config["UPLOAD_FOLDER"]

    def order(business_type=BusinessType.NEW, **columns):
        made = factories.paid_order(db_session, folder, business_type=business_type, paid_at=at(20))
        for name, value in columns.items():
            setattr(made, name, value)
        return made

    # Waiting in the new-application queue: one overdue, one due Friday (within one working day only
    # because Thursday is off), one due next week; one paused for materials counts nowhere.
    order(sla_due_at=at(24))
    order(sla_due_at=at(27, 12))
    order(sla_due_at=at(30))
    order(sla_due_at=at(24), status=OrderStatus.MORE_MATERIALS_NEEDED)
    # Decided: this week one on time and one late (its due time was moved to Tuesday by a wait for
    # materials, decided Wednesday 09:00); earlier this month one on time; a replacement late.
    decided = order(status=OrderStatus.APPROVED, queue=None, sla_due_at=at(24), approved_at=at(23, 12))
    order(status=OrderStatus.REJECTED, queue=None, sla_due_at=at(24, 18), rejected_at=at(25, 9))
    order(status=OrderStatus.APPROVED, queue=None, sla_due_at=at(12), approved_at=at(10))
    replacement = order(BusinessType.REPLACEMENT, status=OrderStatus.APPROVED, queue=None, sla_due_at=at(19),
                        approved_at=at(20))

    wang, li = (factories.staff(db_session, StaffRole.REVIEWER, name) for name in ("wang", "li"))
    first, second = db_session.scalars(select(RejectionReason).order_by(RejectionReason.position)).all()[:2]
    # Results with their working time in hours: of the ten on new applications (with li's 40 h) the
    # median is the 5th (10 h), the p90 the 9th (18 h); with the replacement's 3 h, the 6th and the 10th.
    for hours, day in zip((2, 4, 6, 8, 10, 12, 14, 16, 18), (23, 23, 23, 24, 24, 24, 24, 24, 24), strict=True):
        db_session.add(ReviewDecision(order_id=decided.id, staff_id=wang.id, decision=Decision.APPROVE,
                                      working_seconds=hours * H, decided_at=at(day)))
    db_session.add_all([
        ReviewDecision(order_id=decided.id, staff_id=li.id, decision=Decision.REJECT, working_seconds=40 * H,
                       reason_ids=[first.id, second.id], decided_at=at(24)),
        ReviewDecision(order_id=decided.id, staff_id=li.id, decision=Decision.REJECT, working_seconds=None,
                       reason_ids=[second.id], decided_at=at(24)),
        # A rejection with a note only gives no reason (JSON null).
        ReviewDecision(order_id=replacement.id, staff_id=wang.id, decision=Decision.REJECT, working_seconds=None,
                       reason_ids=None, note="印章模糊", decided_at=at(24)),
        # Asking for materials is work done, not a result: counted in throughput only.
        ReviewDecision(order_id=decided.id, staff_id=li.id, decision=Decision.MORE_MATERIALS,
                       working_seconds=100 * H, decided_at=at(24)),
        # October: outside the range.
        ReviewDecision(order_id=decided.id, staff_id=li.id, decision=Decision.REJECT, working_seconds=1 * H,
                       reason_ids=[first.id], decided_at=at(30, month=10)),
        # A replacement's rejection: gone when filtering by new applications.
        ReviewDecision(order_id=replacement.id, staff_id=li.id, decision=Decision.REJECT, working_seconds=3 * H,
                       reason_ids=[first.id], decided_at=at(24)),
    ])
    station = Station(name="A-01")
    db_session.add(station)
    db_session.flush()
    fulfiller = factories.staff(db_session, StaffRole.FULFILLMENT, "zhao")
    for n, (made, finished) in enumerate(((decided, at(24, 23)), (replacement, at(25, 1)))):
        db_session.add(ProgrammingJob(public_id=f"J{n}", order_id=made.id, status=JobStatus.DONE,
                                      claimed_by_id=fulfiller.id, station_id=station.id, so_pin="12345678",
                                      key_id="aa", challenge="bb", finished_at=finished))
    db_session.flush()
    return {"first": first, "second": second}


def test_backlog_counts_overdue_and_due_within_a_working_day_after_a_day_off(db_session, figures):
    loads = {load.queue: load for load in dashboard.backlog(db_session, NOVEMBER, load_calendar(db_session), NOW)}
    assert loads[ReviewQueue.NEW] == dashboard.QueueLoad(ReviewQueue.NEW, 3, 1, 1)
    assert loads[ReviewQueue.REPLACEMENT].waiting == 0


def test_compliance_this_week_and_this_month_per_business_type(db_session, figures):
    shares = {c.business_type: c for c in dashboard.compliance(db_session, NOVEMBER, NOW)}
    assert shares[BusinessType.NEW] == dashboard.Compliance(BusinessType.NEW, 2, 1, 3, 2)
    assert shares[BusinessType.REPLACEMENT] == dashboard.Compliance(BusinessType.REPLACEMENT, 0, 0, 1, 0)
    assert shares[BusinessType.NEW].week_share == 0.5 and shares[BusinessType.REPLACEMENT].week_share is None


def test_review_time_percentiles_come_from_the_stored_working_time(db_session, figures):
    assert dashboard.review_time(db_session, NOVEMBER) == dashboard.ReviewTime(11, 10.0, 18.0)
    only_new = ReportFilter(NOVEMBER.first, NOVEMBER.last, business_type=BusinessType.NEW)
    assert dashboard.review_time(db_session, only_new) == dashboard.ReviewTime(10, 10.0, 18.0)
    assert dashboard.review_time(db_session, ReportFilter(dt.date(2026, 9, 1), dt.date(2026, 9, 30))) == \
        dashboard.ReviewTime(0, None, None)


def test_throughput_reasons_and_issuance(db_session, figures):
    throughput = dashboard.throughput(db_session, NOVEMBER)
    assert (dt.date(2026, 11, 23), "Wang", 3) in throughput and (dt.date(2026, 11, 24), "Wang", 7) in throughput
    assert (dt.date(2026, 11, 24), "Li", 4) in throughput and throughput[0][0] == dt.date(2026, 11, 24)
    first, second = figures["first"], figures["second"]
    # A tie goes to the reason listed first.
    assert dashboard.rejection_reasons(db_session, NOVEMBER) == [
        (first.text_zh, first.text_en, 2), (second.text_zh, second.text_en, 2)]
    only_new = ReportFilter(NOVEMBER.first, NOVEMBER.last, business_type=BusinessType.NEW)
    assert dashboard.rejection_reasons(db_session, only_new) == [
        (second.text_zh, second.text_en, 2), (first.text_zh, first.text_en, 1)]
    # 23:00 and 01:00 Beijing time fall on different days, whatever UTC says.
    assert dashboard.issuance(db_session, NOVEMBER) == [(dt.date(2026, 11, 25), "A-01", 1),
                                                        (dt.date(2026, 11, 24), "A-01", 1)]
    other = db_session.scalar(select(Channel).where(Channel.code != "direct"))
    if other is not None:
        assert dashboard.issuance(db_session, ReportFilter(NOVEMBER.first, NOVEMBER.last, channel_id=other.id)) == []
