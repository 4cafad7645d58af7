"""The charted reports' numbers against fixtures computed by hand: ageing in working days across
National Day and an adjusted working Saturday, weekly SLA compliance, volumes, revenue, renewals due."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from models import BusinessType, OrderStatus, Payment, PaymentStatus
from models.base import utcnow
from models.working_days import load_calendar
from reports import tables
from reports.dashboard import ReportFilter
from tests import factories
from web.labels import label

pytestmark = pytest.mark.usefixtures("in_app")

BEIJING = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 10, 12, 10, 0, tzinfo=BEIJING)  # Monday after National Day (1-7 Oct off, Sat 10 Oct worked)
RANGE = ReportFilter(dt.date(2026, 9, 1), dt.date(2026, 10, 12))


def at(month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=BEIJING)


@pytest.fixture
def make(app, db_session):
    def order(business_type=BusinessType.NEW, **columns):
        made = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], business_type=business_type)
        for name, value in {"created_at": at(9, 15), **columns}.items():
            setattr(made, name, value)
        db_session.flush()
        return made
    return order


def test_backlog_ageing_counts_working_days(db_session, make):
    # One working day back from Monday 10:00 is Saturday 10 Oct (worked), four is 30 Sep.
    for started in (at(10, 12, 9), at(10, 10, 9), at(10, 8), at(10, 1), at(9, 1)):
        make(sla_started_at=started)
    make(sla_started_at=at(9, 1), status=OrderStatus.MORE_MATERIALS_NEEDED)  # waits for the applicant
    table = tables.backlog_ageing(db_session, RANGE, load_calendar(db_session), NOW)
    assert [n for _, n in table.rows] == [1, 1, 1, 1, 0, 1]


def test_sla_trend_is_weekly_compliance_over_26_weeks(db_session, make):
    decided = {"status": OrderStatus.APPROVED, "queue": None}
    make(**decided, sla_due_at=at(10, 13), approved_at=at(10, 12, 9))
    make(**decided, sla_due_at=at(9, 29), approved_at=at(9, 30))  # late
    make(**decided, sla_due_at=at(10, 9), approved_at=at(9, 28, 9))
    make(BusinessType.REPLACEMENT, **decided, sla_due_at=at(9, 29), approved_at=at(9, 30))
    rows = tables.sla_trend(db_session, RANGE, load_calendar(db_session), NOW).rows
    assert len(rows) == 26 and rows[0][0] == dt.date(2026, 4, 20)
    assert rows[-1] == (dt.date(2026, 10, 12), 1, 1, 100.0) and rows[-2] == (dt.date(2026, 10, 5), 0, 0, None)
    assert rows[-3] == (dt.date(2026, 9, 28), 3, 1, 33.3)
    only_new = ReportFilter(RANGE.first, RANGE.last, business_type=BusinessType.NEW)
    assert tables.sla_trend(db_session, only_new, load_calendar(db_session), NOW).rows[-3][1:] == (2, 1, 50.0)


def test_volumes_revenue_and_renewals(db_session, make):
    first = make()
    make(BusinessType.REPLACEMENT)
    make(created_at=at(8, 31))  # before the range
    calendar = load_calendar(db_session)
    assert sorted(tables.volume_by_business_type(db_session, RANGE, calendar, NOW).rows) == sorted(
        [(label(BusinessType.NEW), 1), (label(BusinessType.REPLACEMENT), 1)])
    assert tables.volume_by_region(db_session, RANGE, calendar, NOW).rows[0][1] == 2
    assert sum(n for _, n in tables.volume_by_channel(db_session, RANGE, calendar, NOW).rows) == 2

    db_session.add_all([
        Payment(order_id=first.id, provider="sandbox", out_trade_no="T1", amount_cents=30000,
                status=PaymentStatus.PAID, paid_at=at(9, 30, 23)),  # still September in Beijing
    ])
    db_session.flush()
    assert tables.revenue(db_session, RANGE, calendar, NOW).rows == [("2026-09", 1, Decimal("300.00"), 0, Decimal(0))]

    now = utcnow()
    for serial, days_left in (("a1" * 16, 10), ("b2" * 16, -30), ("c3" * 16, 200), ("d4" * 16, -400)):
        factories.registered_certificate(db_session, make(), serial, days_left=days_left, days_held=500)
    rows = tables.renewals_due(db_session, RANGE, calendar, now).rows
    assert sum(row[1] for row in rows) == 1 and sum(row[2] for row in rows) == 1
