"""Each decision stores the working time its order spent in review: holidays (official and the admins'
overrides) and the waits for the applicant's materials left out; older decisions are filled by
`flask review fill-working-time`."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from models import CalendarOverride, Decision, MaterialKind, ReviewDecision, StaffRole
from review import operations, sla
from tests import factories

pytestmark = pytest.mark.usefixtures("in_app")

HOUR = 3600
MONDAY = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)  # Monday 10:00 in Beijing


def test_working_time_leaves_out_national_day_and_the_wait_for_materials():
    calendar = sla.WorkingCalendar()
    started = dt.datetime(2026, 9, 30, 2, 0, tzinfo=dt.UTC)  # Wednesday 10:00, the eve of National Day
    decided = dt.datetime(2026, 10, 9, 2, 0, tzinfo=dt.UTC)  # Friday 10:00 after the week off
    # 30 Sep 10:00-24:00 (14 h) + 8 Oct (24 h) + 9 Oct 00:00-10:00 (10 h); 1-7 Oct are days off.
    assert sla.working_time_used(calendar, started, decided, []) == 48 * HOUR
    asked, back = dt.datetime(2026, 10, 8, 2, 0, tzinfo=dt.UTC), dt.datetime(2026, 10, 8, 8, 0, tzinfo=dt.UTC)
    assert sla.working_time_used(calendar, started, decided, [(asked, back)]) == 42 * HOUR
    assert sla.working_time_used(calendar, started, decided, [(asked, None)]) == 24 * HOUR  # still waiting


def test_decisions_store_their_working_time_and_the_command_fills_older_ones(app, db_session, runner):
    db_session.add(CalendarOverride(day=dt.date(2026, 11, 26), is_workday=False, note="staff outing",
                                    added_by="admin"))
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], paid_at=MONDAY)
    reviewer = factories.staff(db_session, StaffRole.REVIEWER, "wang")
    operations.claim_order(db_session, order, reviewer, now=MONDAY)
    asked = MONDAY + dt.timedelta(hours=1)
    token = operations.request_materials(db_session, order, reviewer, kinds=[MaterialKind.BUSINESS_LICENCE],
                                         message=None, public_base_url="https://ca.example.cn", now=asked)
    back = asked + dt.timedelta(days=2)  # Wednesday 11:00
    request = operations.open_material_request(db_session, order, token, now=asked)
    operations.resubmit_materials(db_session, order, request, actor="applicant:link", now=back)
    if order.reviewer_id != reviewer.id:
        operations.claim_order(db_session, order, reviewer, now=back)
    # Friday 11:00: Wednesday 11:00 to Friday 11:00 is 48 h less Thursday, the admins' day off.
    operations.reject_order(db_session, order, reviewer, reason_ids=[], note="印章模糊",
                            now=back + dt.timedelta(days=2))
    db_session.flush()
    stored = {d.decision: d.working_seconds for d in db_session.scalars(
        select(ReviewDecision).where(ReviewDecision.order_id == order.id))}
    assert stored == {Decision.MORE_MATERIALS: HOUR, Decision.REJECT: HOUR + 24 * HOUR}

    for decision in db_session.scalars(select(ReviewDecision).where(ReviewDecision.order_id == order.id)):
        decision.working_seconds = None
    db_session.flush()
    result = runner.invoke(args=["review", "fill-working-time"])
    assert result.exit_code == 0 and "for 2 decision(s)" in result.output
    db_session.expire_all()
    assert {d.decision: d.working_seconds for d in db_session.scalars(
        select(ReviewDecision).where(ReviewDecision.order_id == order.id))} == stored
    assert "for 0 decision(s)" in runner.invoke(args=["review", "fill-working-time"]).output
