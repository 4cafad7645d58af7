"""The SLA as staff read it (issue 18, point 8): paid_at stays the first payment, a paused item
that was late shows as overdue, a decided item's clock stopped at the decision (on time, or late by
how much working time), queue rows show the due time and the time waiting (minutes under an hour),
and the senior reviewer's overdue badge leads to every overdue item across the queues."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale

from models import BusinessType, MaterialKind, Order, OrderStatus, ReviewQueue, RevocationReason, StaffRole
from models.base import utcnow
from models.calendar import SlaPolicy
from review import operations, queues, sla
from review.identity import SandboxVerifier
from review.navigation import shanghai
from review.sla import DAY, WorkingCalendar
from tests import factories
from tests.review.approvals import after_sale, registered_certificate, ticked
from web.labels import request_labels

SH = ZoneInfo("Asia/Shanghai")
HOUR = 3600
OFFICIAL = WorkingCalendar()
FIRST_PAID = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)  # Friday 10:00 in Beijing


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH).astimezone(dt.UTC)


def started(now: dt.datetime, status: OrderStatus = OrderStatus.PAID) -> Order:
    """Target 3 working days, limit 5: started Monday 2 March 2026 10:00, due Thursday 10:00."""
    order = Order(status=status, business_type=BusinessType.NEW)
    sla.start_clock(order, OFFICIAL, SlaPolicy(business_type=BusinessType.NEW, target_days=3, limit_days=5), now)
    return order


def render(app, t, locale: str = "en", macro: str = "time_left") -> str:
    """The _sla.html macro's text, as a page in `locale` shows it."""
    with app.test_request_context(), force_locale(locale):
        html = app.jinja_env.from_string(
            '{% from "console/_sla.html" import ' + macro + ' with context %}{{ ' + macro + '(t) }}'
        ).render(t=t, label=request_labels())
    return re.sub(r"<[^>]+>", "", html).strip()


# --- paid_at is the first payment ------------------------------------------------------------


@pytest.fixture
def paid(app, db_session, in_app):
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    order.paid_at = FIRST_PAID
    return order


def _approve(session, order, staff):
    operations.verify_identity(session, order, staff, SandboxVerifier())
    return operations.approve_order(session, order, staff, checklist=ticked(session, order))


def test_release_keeps_paid_at(db_session, paid):
    wang = factories.staff(db_session, StaffRole.REVIEWER, "wang")
    operations.claim_order(db_session, paid, wang)
    operations.release_order(db_session, paid, wang)
    assert paid.status == OrderStatus.PAID and paid.paid_at == FIRST_PAID


def test_re_submitted_materials_keep_paid_at(db_session, paid):
    wang = factories.staff(db_session, StaffRole.REVIEWER, "wang")
    operations.claim_order(db_session, paid, wang)
    token = operations.request_materials(db_session, paid, wang, kinds=[MaterialKind.BUSINESS_LICENCE],
                                         message="请加盖公章", public_base_url="https://ca.example.cn")
    request = operations.open_material_request(db_session, paid, token)
    operations.resubmit_materials(db_session, paid, request, actor="applicant:link")
    assert paid.status == OrderStatus.PAID and paid.queue == ReviewQueue.RESUBMITTED
    assert paid.paid_at == FIRST_PAID


def test_a_first_approval_keeps_paid_at_and_the_second_is_the_decision(app, db_session, in_app):
    certificate = registered_certificate(db_session, factories.paid_order(db_session, app.config["UPLOAD_FOLDER"]),
                                         "5d" * 16)
    order = after_sale(db_session, app.config["UPLOAD_FOLDER"], certificate, BusinessType.REVOCATION,
                       RevocationReason.UNSPECIFIED)
    order.paid_at = FIRST_PAID
    chen = factories.staff(db_session, StaffRole.SENIOR_REVIEWER, "chen")
    zhou = factories.staff(db_session, StaffRole.SENIOR_REVIEWER, "zhou")
    operations.claim_order(db_session, order, chen)
    assert _approve(db_session, order, chen) == "first_approval"
    assert order.status == OrderStatus.PAID and order.paid_at == FIRST_PAID and order.approved_at is None
    operations.claim_order(db_session, order, zhou)
    assert _approve(db_session, order, zhou) == "approve"
    assert order.paid_at == FIRST_PAID and order.approved_at is not None


def test_a_station_job_given_up_keeps_the_approval_time():
    order = Order(status=OrderStatus.IN_REVIEW)
    order.move_to(OrderStatus.APPROVED, "staff:zhou")
    decided = order.approved_at = FIRST_PAID
    order.move_to(OrderStatus.PROGRAMMING, "station:1")
    order.move_to(OrderStatus.APPROVED, "station:1", note="job wiped and given up")
    assert order.approved_at == decided


# --- paused -----------------------------------------------------------------------------------


def test_paused_after_the_target_shows_overdue_not_time_left(app):
    order = started(at(2026, 3, 2, 10))
    sla.pause_clock(order, OFFICIAL, at(2026, 3, 6, 10))  # a working day after Thursday's target
    order.status = OrderStatus.MORE_MATERIALS_NEEDED
    for now in (at(2026, 3, 6, 11), at(2026, 3, 20, 9)):  # it stands still while paused
        left = sla.time_left(order, OFFICIAL, now)
        assert (left.state, left.seconds, left.overdue) == ("paused", -DAY, True)
    assert left.label() == "paused (overdue 1d 0h)"
    assert render(app, left) == "paused, overdue 1d 0h"
    assert "left" not in render(app, left)
    assert render(app, left, "zh_Hans_CN") == "已暂停，已超期1个工作日0小时"


def test_paused_on_a_weekend_after_a_friday_target_is_overdue_too(app):
    order = started(at(2026, 3, 4, 10))  # Wednesday: due Monday 9 March 10:00 ...
    order.sla_due_at = at(2026, 3, 7)  # ... moved to Friday's end by hand
    sla.pause_clock(order, OFFICIAL, at(2026, 3, 7, 12))  # Saturday: no working time used, target passed
    order.status = OrderStatus.MORE_MATERIALS_NEEDED
    left = sla.time_left(order, OFFICIAL, at(2026, 3, 8, 12))
    assert (left.state, left.seconds, left.overdue) == ("paused", 0, True)
    assert render(app, left) == "paused, overdue 0 min"


def test_paused_in_time_still_shows_the_time_left(app):
    order = started(at(2026, 3, 2, 10))
    sla.pause_clock(order, OFFICIAL, at(2026, 3, 5, 9, 15))  # 45 minutes before the target
    order.status = OrderStatus.MORE_MATERIALS_NEEDED
    left = sla.time_left(order, OFFICIAL, at(2026, 3, 9))
    assert not left.overdue and render(app, left) == "paused, 45 min left"
    assert render(app, left, "zh_Hans_CN") == "已暂停，剩余45分钟"


# --- decided ----------------------------------------------------------------------------------


def test_approved_before_the_target_is_decided_on_time_and_the_clock_stands(app):
    order = started(at(2026, 3, 2, 10), OrderStatus.APPROVED)
    order.approved_at = at(2026, 3, 4, 16)
    for now in (at(2026, 3, 4, 17), at(2026, 4, 30, 9)):
        left = sla.time_left(order, OFFICIAL, now)
        assert (left.state, left.overdue, left.seconds) == ("on_time", False, 18 * HOUR)
    assert left.label() == "decided on time"
    assert render(app, left) == "decided on time"
    assert render(app, left, "zh_Hans_CN") == "按时完成审核"


def test_rejected_after_the_target_is_late_by_working_time(app):
    order = started(at(2026, 3, 2, 10), OrderStatus.REJECTED)
    order.rejected_at = at(2026, 3, 9, 11)  # Thursday 10:00 target, the weekend does not count
    left = sla.time_left(order, OFFICIAL, at(2026, 3, 20))
    assert (left.state, left.overdue) == ("late", True)
    assert left.seconds == -OFFICIAL.working_seconds_between(order.sla_due_at, order.rejected_at) == -(2 * DAY + HOUR)
    assert render(app, left) == "decided late by 2d 1h"
    assert render(app, left, "zh_Hans_CN") == "审核超时2个工作日1小时"
    order.rejected_at = at(2026, 3, 5, 10, 20)
    assert render(app, sla.time_left(order, OFFICIAL, at(2026, 3, 20))) == "decided late by 20 min"


def test_a_decided_order_moving_on_keeps_its_verdict():
    order = started(at(2026, 3, 2, 10), OrderStatus.SHIPPED)
    order.approved_at = at(2026, 3, 3, 10)
    assert sla.time_left(order, OFFICIAL, at(2026, 6, 1)).state == "on_time"


# --- minutes under an hour, the due time and the time waiting ----------------------------------


@pytest.mark.parametrize("now,text,zh", [
    (at(2026, 3, 5, 9, 15), "45 min left", "剩余45分钟"),
    (at(2026, 3, 5, 6), "4h left", "剩余4小时"),
    (at(2026, 3, 5, 10, 45), "overdue 45 min", "已超期45分钟"),
    (at(2026, 3, 6, 13), "overdue 1d 3h", "已超期1个工作日3小时"),
])
def test_under_an_hour_shows_minutes_not_zero_hours(app, now, text, zh):
    left = sla.time_left(started(at(2026, 3, 2, 10)), OFFICIAL, now)
    assert render(app, left) == text
    assert render(app, left, "zh_Hans_CN") == zh


def test_time_waiting_is_working_time_since_the_clock_started(app):
    order = started(at(2026, 3, 6, 23, 30))  # Friday night
    assert render(app, sla.waiting(order, OFFICIAL, at(2026, 3, 9, 0, 10)), macro="waited") == "40 min"
    assert render(app, sla.waiting(order, OFFICIAL, at(2026, 3, 10, 2)), "zh_Hans_CN", "waited") == "1个工作日2小时"
    assert sla.waiting(Order(status=OrderStatus.AWAITING_PAYMENT), OFFICIAL, at(2026, 3, 9)) is None


def test_queue_rows_show_the_due_time_and_the_time_waiting(app, client, login_as, db_session):
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], paid_at=utcnow() - dt.timedelta(days=1))
    due, number = order.sla_due_at, order.number
    db_session.commit()
    login_as(StaffRole.REVIEWER)
    page = client.get("/console/queues/new?lang=en").get_data(as_text=True)
    row = re.search(rf'<tr data-order="{number}">.*?</tr>', page, re.S).group(0)
    assert "Due (Beijing time) / waiting (working time)" in page
    assert f'<td class="sla-due">{shanghai(due)}<br><small class="text-muted sla-waited">' in row
    assert re.search(r'sla-waited">(\d+d \d+h|[1-9]\d*h|\d+ min)</small>', row)


# --- the overdue badge ------------------------------------------------------------------------


def test_the_overdue_badge_leads_to_every_overdue_item_across_queues(app, client, login_as, db_session):
    folder = app.config["UPLOAD_FOLDER"]
    late_new = factories.paid_order(db_session, folder, paid_at=utcnow() - dt.timedelta(days=14))
    late_revocation = factories.paid_order(db_session, folder, business_type=BusinessType.REVOCATION,
                                           paid_at=utcnow() - dt.timedelta(days=20))
    in_time = factories.paid_order(db_session, folder)
    numbers = late_new.number, late_revocation.number, in_time.number
    db_session.commit()
    login_as(StaffRole.SENIOR_REVIEWER)
    page = client.get("/console/queues/new?lang=en").get_data(as_text=True)
    link = re.search(r'<a class="badge badge-danger" href="([^"]+)">[^<]*?(\d+)</a>', page)
    assert link.group(1) == "/console/overdue"
    listed = client.get(link.group(1) + "?lang=en").get_data(as_text=True)
    rows = re.findall(r'<tr data-order="([^"]+)">', listed)
    assert rows.index(numbers[1]) < rows.index(numbers[0])  # the most overdue first, whatever its queue
    assert numbers[2] not in rows
    assert len(rows) == int(link.group(2))  # what the badge counts is what the list shows
    assert "Revocations" in listed and "sla-breached" in listed


def test_only_senior_reviewers_open_the_overdue_list(client, login_as):
    login_as(StaffRole.REVIEWER)
    assert client.get("/console/overdue").status_code == 403


def test_overdue_page_lists_only_open_items_in_a_queue(app, db_session, in_app):
    folder = app.config["UPLOAD_FOLDER"]
    now = utcnow()
    late = factories.paid_order(db_session, folder, paid_at=now - dt.timedelta(days=14))
    paused = factories.paid_order(db_session, folder, paid_at=now - dt.timedelta(days=14))
    wang = factories.staff(db_session, StaffRole.REVIEWER, "wang")
    operations.claim_order(db_session, paused, wang)
    operations.request_materials(db_session, paused, wang, kinds=[MaterialKind.BUSINESS_LICENCE], message=None,
                                 public_base_url="https://ca.example.cn")
    page = queues.overdue_page(db_session, wang, calendar=OFFICIAL, now=now, size=500)
    ids = [row.id for row in page.rows]
    assert late.id in ids and paused.id not in ids  # waiting for the applicant: not the reviewers' to chase
    assert page.time_left[late.id].overdue and page.waiting[late.id].days >= 1
