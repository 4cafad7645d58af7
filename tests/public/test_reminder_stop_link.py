"""The link in a renewal reminder e-mail that stops the reminders (public.reminder_views): it asks first,
names the order only masked, stops every reminder to the applicant, and once they are off turns them
back on; both audited as the applicant's. A link past its 400 days is refused and changes nothing; the
SMS stays one carrier template with the renewal link alone."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from sqlalchemy import select

from models import AuditEntry, EmailMessage, Order, SmsMessage
from review.audit_sentences import sentence
from tests import factories
from tests.public.test_renewal_reminders import _run as _remind

EXPIRES = dt.datetime(2027, 3, 31, 8, 37, tzinfo=dt.UTC)
SENT_AT = EXPIRES - dt.timedelta(days=90)  # the 90-day reminder
LATER = SENT_AT + dt.timedelta(days=3)


def _certified(app, db_session, personal: bool = False) -> str:
    with app.app_context():
        if personal:
            order = factories.paid_personal_order(db_session, app.config["UPLOAD_FOLDER"])
        else:
            order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
        factories.registered_certificate(db_session, order, f"{order.id:08x}" * 4, not_after=EXPIRES)
        number = order.number
        db_session.commit()
    return number


def _emails(db_session, number: str) -> list[str]:
    order_id = db_session.scalar(select(Order.id).where(Order.number == number))
    return [email.body for email in db_session.scalars(select(EmailMessage).where(
        EmailMessage.order_id == order_id, EmailMessage.template.like("renewal_%")).order_by(EmailMessage.id))]


def _stop_path(app, body: str) -> str:
    base = app.config["PUBLIC_BASE_URL"].rstrip("/")
    return re.search(re.escape(base) + r"(/reminders/stop/[\w.-]+)", body).group(1)


@pytest.fixture
def certified(app, db_session):
    return _certified(app, db_session)


def test_the_reminder_e_mail_links_to_stopping_them_and_the_sms_stays_short(app, runner, db_session, certified):
    assert _remind(runner, SENT_AT).startswith("1 reminder(s)")
    body, = _emails(db_session, certified)
    assert "请打开以下链接退订" in body and "/reminders/stop/" in body
    order_id = db_session.scalar(select(Order.id).where(Order.number == certified))
    sms = db_session.scalar(select(SmsMessage).where(SmsMessage.order_id == order_id,
                                                     SmsMessage.template == "renewal_reminder"))
    assert "/reminders/stop/" not in sms.body and "/c/direct/renewal" in sms.body


def test_the_link_asks_stops_every_reminder_and_turns_them_back_on(app, client, runner, db_session, certified):
    _remind(runner, SENT_AT)
    path = _stop_path(app, _emails(db_session, certified)[0])
    organisation = db_session.scalar(select(Order).where(Order.number == certified)).organisation.name
    with time_machine.travel(LATER, tick=False):
        page = client.get(path + "?lang=en").get_data(as_text=True)
        assert "Stop the renewal reminders to this organisation?" in page
        assert f"{certified[:4]}*******{certified[-4:]}" in page and certified not in page and organisation not in page
        stopped = client.post(path, follow_redirects=True).get_data(as_text=True)
        assert "no more renewal reminders will be sent" in stopped and "Send me renewal reminders again" in stopped
        assert client.post(path).status_code == 302  # a second click: nothing more to do
    assert _remind(runner, EXPIRES - dt.timedelta(days=30)).startswith("0 reminder(s)")
    with time_machine.travel(LATER, tick=False):
        resumed = client.post(path + "/resume", follow_redirects=True).get_data(as_text=True)
    assert "will be sent again" in resumed and "Stop renewal reminders" in resumed
    assert _remind(runner, EXPIRES - dt.timedelta(days=29)).startswith("1 reminder(s)")
    with app.test_request_context("/?lang=en"):
        told = [sentence(entry, {}) for entry in db_session.scalars(select(AuditEntry).where(
            AuditEntry.action.in_(("renewal.opted_out", "renewal.opted_in"))).order_by(AuditEntry.id))]
    assert told == ["The applicant turned the applicant's renewal reminders off.",
                    "The applicant turned the applicant's renewal reminders back on."]


def test_a_holders_link_stops_the_holders_reminders(app, client, runner, db_session):
    number = _certified(app, db_session, personal=True)
    _remind(runner, SENT_AT)
    path = _stop_path(app, _emails(db_session, number)[0])
    with time_machine.travel(LATER, tick=False):
        assert "to the holder of this certificate?" in client.get(path + "?lang=en").get_data(as_text=True)
        client.post(path)
    assert _remind(runner, EXPIRES - dt.timedelta(days=30)).startswith("0 reminder(s)")


@pytest.mark.parametrize(("days", "status"), [(399, 200), (401, 404)])
def test_a_link_is_taken_for_400_days(app, client, runner, db_session, certified, days, status):
    _remind(runner, SENT_AT)
    path = _stop_path(app, _emails(db_session, certified)[0])
    with time_machine.travel(SENT_AT + dt.timedelta(days=days), tick=False):
        assert client.get(path).status_code == status
        answer = client.post(path + "?lang=en")
    if status == 404:
        assert answer.status_code == 404 and "This link is not valid" in answer.get_data(as_text=True)
        assert db_session.scalar(select(AuditEntry.id).where(AuditEntry.action == "renewal.opted_out")) is None
    else:
        assert answer.status_code == 302


def test_its_forms_are_rate_limited(rate_limited_app, db_session):
    client = rate_limited_app.test_client()
    statuses = [client.post(f"/reminders/stop/{'t' * 32}").status_code for _ in range(11)]
    assert statuses == [404] * 10 + [429]
