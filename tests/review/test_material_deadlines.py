"""A request for more materials reminds the applicant on day 7 and day 14 with its link, once each,
and when its 15 days are over the order is cancelled and refunded (review.material_deadlines, run by
the scheduled `review material-deadlines`), with the clock frozen on each side of every boundary."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from backoffice.schedule import SCHEDULE
from models import (
    AuditEntry,
    EmailMessage,
    MaterialKind,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundReason,
    RefundStatus,
    SmsMessage,
    StaffRole,
)
from review import operations
from review.audit_sentences import SENTENCES, sentence
from tests import factories

ASKED = dt.datetime(2026, 12, 14, 2, 0, tzinfo=dt.UTC)  # Monday 10:00 in Beijing: day 0
BASE = "https://ca.example.cn"


@pytest.fixture
def asked(app, db_session):
    """A paid order sent back for the business licence; the link token."""
    with app.app_context():
        payment = factories.payment(db_session, app.config["UPLOAD_FOLDER"], paid_at=ASKED - dt.timedelta(days=1))
        reviewer = factories.staff(db_session, StaffRole.REVIEWER, "wang")
        order = payment.order
        operations.claim_order(db_session, order, reviewer, now=ASKED)
        token = operations.request_materials(db_session, order, reviewer, kinds=[MaterialKind.BUSINESS_LICENCE],
                                             message="请加盖公章", public_base_url=BASE, now=ASKED)
        number = order.number
        db_session.commit()
    return number, token


def _run(runner, at: dt.datetime) -> str:
    with time_machine.travel(at, tick=False):
        result = runner.invoke(args=["review", "material-deadlines"])
    assert result.exit_code == 0, result.output
    return result.output


def _texts(db_session, number: str) -> list[str]:
    order = db_session.scalar(select(Order).where(Order.number == number))
    return [sms.body for sms in db_session.scalars(select(SmsMessage).where(SmsMessage.order_id == order.id)
                                                   .order_by(SmsMessage.id))]


def test_reminded_on_day_7_and_14_with_the_link_then_cancelled_and_refunded(app, runner, db_session, asked):
    number, token = asked
    link = f"{app.config['PUBLIC_BASE_URL']}/apply/{number}/more/{token}"  # the link the request sent
    before = len(_texts(db_session, number))
    day = dt.timedelta(days=1)
    assert "0 reminder(s)" in _run(runner, ASKED + 7 * day - dt.timedelta(hours=10, minutes=1))  # day 6, 23:59
    assert len(_texts(db_session, number)) == before
    assert "1 reminder(s)" in _run(runner, ASKED + 7 * day - dt.timedelta(hours=10))  # day 7, 00:00 in Beijing
    assert "0 reminder(s)" in _run(runner, ASKED + 7 * day + dt.timedelta(hours=8))  # a second run that day
    [reminder] = _texts(db_session, number)[before:]
    assert link in reminder and "营业执照" in reminder and "2026-12-29" in reminder and "逾期订单将被取消" in reminder
    assert "0 reminder(s)" in _run(runner, ASKED + 13 * day)
    assert "1 reminder(s)" in _run(runner, ASKED + 14 * day)
    assert "0 reminder(s)" in _run(runner, ASKED + 14 * day + dt.timedelta(hours=1))
    assert len(_texts(db_session, number)) == before + 2 and link in _texts(db_session, number)[-1]

    # The link works until the request's 15 days are up; the order stays paused until then.
    assert "0 order(s) cancelled" in _run(runner, ASKED + 15 * day - dt.timedelta(minutes=1))
    order = db_session.scalar(select(Order).where(Order.number == number))
    assert order.status is OrderStatus.MORE_MATERIALS_NEEDED
    assert "1 order(s) cancelled and refunded" in _run(runner, ASKED + 15 * day + dt.timedelta(minutes=1))
    assert "0 order(s) cancelled" in _run(runner, ASKED + 16 * day)
    db_session.expire_all()
    order = db_session.scalar(select(Order).where(Order.number == number))
    assert order.status is OrderStatus.CANCELLED and order.queue is None and order.reviewer_id is None
    refund = db_session.scalar(select(Refund).join(Payment).where(Payment.order_id == order.id))
    # No one needs to confirm it: `billing sweep` sends it (its own tests).
    assert refund.reason is RefundReason.MATERIALS_LAPSED and refund.status is RefundStatus.CONFIRMED
    assert refund.payment.status is PaymentStatus.PAID  # until the provider has made it
    lapsed = _texts(db_session, number)[-1]
    assert "未在期限内补充材料已取消" in lapsed and "退回" in lapsed
    email = db_session.scalars(select(EmailMessage).where(EmailMessage.order_id == order.id)
                               .order_by(EmailMessage.id.desc())).first()
    assert email.template == "more_materials_lapsed"
    with app.test_request_context("/?lang=en"):  # the sentences as an English reader reads them
        told = [sentence(entry, {}) for entry in db_session.scalars(
            select(AuditEntry).where(AuditEntry.order_id == order.id).order_by(AuditEntry.id))]
    assert any("day 7 of the request" in text for text in told)
    assert any("day 14 of the request" in text for text in told)
    assert any("were not sent by 2026-12-29" in text for text in told)


def test_a_run_that_missed_days_sends_the_latest_reminder_once_and_none_stale(runner, db_session, asked):
    number, _token = asked
    before = len(_texts(db_session, number))
    assert "1 reminder(s)" in _run(runner, ASKED + dt.timedelta(days=14, hours=3))  # days 7 to 13 missed
    assert "0 reminder(s)" in _run(runner, ASKED + dt.timedelta(days=14, hours=4))
    assert len(_texts(db_session, number)) == before + 1


def test_materials_sent_in_time_stop_the_reminders(app, runner, db_session, asked):
    number, token = asked
    with app.app_context():
        order = db_session.scalar(select(Order).where(Order.number == number))
        request = operations.open_material_request(db_session, order, token, now=ASKED + dt.timedelta(days=3))
        operations.resubmit_materials(db_session, order, request, actor="applicant:link",
                                      now=ASKED + dt.timedelta(days=3))
        db_session.commit()
    before = len(_texts(db_session, number))
    _run(runner, ASKED + dt.timedelta(days=7))
    assert "0 order(s) cancelled" in _run(runner, ASKED + dt.timedelta(days=20))
    assert len(_texts(db_session, number)) == before
    assert db_session.scalar(select(Order.status).where(Order.number == number)) is not OrderStatus.CANCELLED


def test_scheduled_daily_and_audited_in_words():
    assert "review material-deadlines" in SCHEDULE
    assert {"material_request.reminded", "renewal.reminded", "renewal.opted_out", "renewal.opted_in"} <= set(SENTENCES)
