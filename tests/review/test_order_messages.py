"""The order page lists every message sent about the order with where it stands, and flags the
ones given up, saying what to do; never a message's text."""
from __future__ import annotations

from models import Delivery, StaffRole
from notifications import outbox
from notifications.interfaces import SmsContent
from notifications.messages import EmailContent
from tests import factories

PASSWORD = "Kx93-2a77"


def test_the_order_page_shows_the_messages_and_flags_those_given_up(app, client, db_session, login_as):
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    sent = outbox.queue_sms(db_session, order.legal_rep.phone, SmsContent(
        "certificate_password", "SMS_000007", {"password": PASSWORD}, f"证书密码{PASSWORD}"), order=order, secret=True)
    sent.status, sent.attempts, sent.next_attempt_at = Delivery.SENT, 1, None
    mail = outbox.queue_email(db_session, "agent@fail.example",
                              EmailContent("review_approved", "订单审核通过", "正文"), order=order)
    mail.status, mail.attempts, mail.next_attempt_at, mail.error = Delivery.FAILED, 5, None, "550 mailbox unavailable"
    transfer = outbox.queue_transfer(db_session, order, f"密码{PASSWORD}")
    transfer.status, transfer.attempts, transfer.next_attempt_at = Delivery.UNKNOWN, 5, None
    retrying = outbox.queue_sms(db_session, order.agent.phone, SmsContent("review_approved", "SMS_000003", {}, "通过"),
                                order=order)
    retrying.status, retrying.attempts, retrying.error = Delivery.QUEUED, 1, "carrier down"
    number, request_no = order.number, transfer.request_no
    db_session.commit()

    login_as(StaffRole.REVIEWER)
    page = client.get(f"/console/orders/{number}?lang=en").get_data(as_text=True)

    assert page.count('class="message') == 4
    assert [status in page for status in ('data-status="sent"', 'data-status="failed"', 'data-status="unknown"',
                                          'data-status="queued"')] == [True] * 4
    assert page.count("message-given-up") == 2
    assert "was not delivered after 5 attempts" in page and "agent@fail.example" in page
    assert request_no in page and "never make the transfer again by hand" in page
    assert "550 mailbox unavailable" in page and "carrier down" in page and "next attempt" in page
    assert PASSWORD not in page, "a message's text never shows"


def test_the_messages_speak_the_pages_language_whatever_was_rendered_before(app, client, db_session, login_as):
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    outbox.queue_email(db_session, "agent@example.com", EmailContent("review_approved", "订单审核通过", "正文"),
                       order=order)
    number = order.number
    db_session.commit()
    login_as(StaffRole.REVIEWER)
    chinese = client.get(f"/console/orders/{number}").get_data(as_text=True)
    english = client.get(f"/console/orders/{number}?lang=en").get_data(as_text=True)
    assert "E-mail · Approved" not in chinese and "E-mail · Approved" in english
