"""Renewal reminders (public.renewal_reminders, run by the scheduled `renewal remind`): SMS and e-mail
90, 30 and 7 days before a certificate expires and the day after, once each, with the link to the
renewal page; none to an applicant who opted out; all audited. The clock is frozen on each side of
every boundary (days counted on the Beijing calendar)."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from backoffice.schedule import SCHEDULE
from models import AuditEntry, BusinessType, Certificate, EmailMessage, Order, OrderStatus, SmsMessage
from models.business_time import BUSINESS_TZ
from review.audit_sentences import sentence
from tests import factories

EXPIRES = dt.datetime(2027, 3, 31, 8, 37, tzinfo=dt.UTC)  # 2027-03-31 16:37 in Beijing


def _days_before(days: int, hour: int = 10) -> dt.datetime:
    """`hour` o'clock in Beijing, `days` calendar days before the expiry date."""
    day = EXPIRES.astimezone(BUSINESS_TZ).date() - dt.timedelta(days=days)
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=BUSINESS_TZ)


@pytest.fixture
def certified(app, db_session):
    """An order (its applicant the agent 小明) with a certificate expiring at EXPIRES; its number."""
    with app.app_context():
        order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
        factories.registered_certificate(db_session, order, "7a" * 16, not_after=EXPIRES)
        number = order.number
        db_session.commit()
    return number


def _run(runner, at: dt.datetime, *args: str) -> str:
    with time_machine.travel(at, tick=False):
        result = runner.invoke(args=["renewal", *(args or ["remind"])])
    assert result.exit_code == 0, result.output
    return result.output


def _sent(db_session, number: str) -> list[str]:
    order_id = db_session.scalar(select(Order.id).where(Order.number == number))
    return [sms.body for sms in db_session.scalars(select(SmsMessage).where(
        SmsMessage.order_id == order_id, SmsMessage.template.like("renewal_%")).order_by(SmsMessage.id))]


def test_reminders_at_90_30_and_7_days_and_the_day_after_once_each(app, runner, db_session, certified):
    outputs = [_run(runner, at) for at in (
        _days_before(91), _days_before(90, 0), _days_before(90, 18), _days_before(31), _days_before(30),
        _days_before(30, 20), _days_before(8), _days_before(7), _days_before(7, 23), _days_before(0, 23),
        _days_before(-1, 0), _days_before(-1, 15), _days_before(-2))]
    assert [output.split(" reminder")[0] for output in outputs] == [
        "0", "1", "0", "0", "1", "0", "0", "1", "0", "0", "1", "0", "0"]
    link = f"{app.config['PUBLIC_BASE_URL']}/c/direct/renewal"
    texts = _sent(db_session, certified)
    assert len(texts) == 4 and all(link in text and "2027-03-31" in text for text in texts)
    assert "剩余90天" in texts[0] and "剩余30天" in texts[1] and "剩余7天" in texts[2]
    assert "已于2027-03-31到期" in texts[3]
    order_id = db_session.scalar(select(Order.id).where(Order.number == certified))
    emails = db_session.scalars(select(EmailMessage).where(EmailMessage.order_id == order_id,
                                                           EmailMessage.template.like("renewal_%"))).all()
    assert len(emails) == 4 and all(link in email.body and "退订" in email.body for email in emails)
    with app.test_request_context("/?lang=en"):  # the sentences as an English reader reads them
        told = [sentence(entry, {}) for entry in db_session.scalars(select(AuditEntry).where(
            AuditEntry.order_id == order_id, AuditEntry.action == "renewal.reminded").order_by(AuditEntry.id))]
    assert [text[text.index("reminded"):] for text in told] == [  # after "the system", in the reader's language
        f"reminded the applicant to renew certificate {'7a' * 16}, {when} (2027-03-31)." for when in (
            "90 days before it expires", "30 days before it expires", "7 days before it expires",
            "the day after it expired")]


def test_a_run_that_missed_days_sends_the_stage_due_once_and_no_stale_one(runner, db_session, certified):
    assert _run(runner, _days_before(20)).startswith("1 reminder(s) sent, days_30 1")
    assert _run(runner, _days_before(19)).startswith("0 reminder(s)")
    assert _run(runner, _days_before(-30)).startswith("1 reminder(s) sent, expired 1")  # the 7-day one is stale
    assert len(_sent(db_session, certified)) == 2


def test_none_long_after_expiry_nor_for_a_certificate_being_renewed(app, runner, db_session, certified):
    assert _run(runner, _days_before(-31)).startswith("0 reminder(s)")
    with app.app_context():
        earlier_id = db_session.scalar(select(Order.id).where(Order.number == certified))
        renewal = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], business_type=BusinessType.RENEWAL)
        renewal.certificate_id = db_session.scalar(select(Certificate.id).where(Certificate.order_id == earlier_id))
        renewal_id = renewal.id
        db_session.commit()
    assert _run(runner, _days_before(30)).startswith("0 reminder(s)")
    with app.app_context():
        db_session.get(Order, renewal_id).status = OrderStatus.CANCELLED  # given up: the reminders come again
        db_session.commit()
    assert _run(runner, _days_before(29)).startswith("1 reminder(s)")


def test_an_applicant_who_opted_out_hears_nothing_until_opting_in(app, runner, db_session, certified):
    assert "opted out" in _run(runner, _days_before(95), "opt-out", certified)
    assert "already" in _run(runner, _days_before(95), "opt-out", certified)
    assert _run(runner, _days_before(90)).startswith("0 reminder(s)")
    # Another order of the same organisation (same credit code) is opted out with it.
    with app.app_context():
        credit = db_session.scalar(select(Order).where(Order.number == certified)).organisation.credit_code
        other = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], credit_code=credit)
        factories.registered_certificate(db_session, other, "7b" * 16, not_after=EXPIRES)
        db_session.commit()
    assert _run(runner, _days_before(89)).startswith("0 reminder(s)")
    assert "on again" in _run(runner, _days_before(88), "opt-in", certified)
    assert _run(runner, _days_before(87)).startswith("2 reminder(s)")
    with app.test_request_context("/?lang=en"):  # the sentences as an English reader reads them
        told = [sentence(entry, {}) for entry in db_session.scalars(select(AuditEntry).where(
            AuditEntry.action.in_(("renewal.opted_out", "renewal.opted_in"))).order_by(AuditEntry.id))]
    assert [text.split(" turned ")[1] for text in told] == ["the applicant's renewal reminders off.",
                                                             "the applicant's renewal reminders back on."]


def test_scheduled_daily():
    assert "renewal remind" in SCHEDULE
