"""The notification centre: every message of the outboxes, searchable and filtered (by Beijing days
too), masked and never its text, on screen and as CSV; a message sent again by hand is a new send
the outbox delivers, audited, shown beside its original, and refused with a reason where it may
not be sent again."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from sqlalchemy import func, select

from models import AuditEntry, BankTransfer, Delivery, EmailMessage, SmsMessage, StaffRole
from models.base import utcnow
from models.business_time import BUSINESS_TZ
from notifications import centre, outbox
from notifications.interfaces import Attachment, SmsContent
from notifications.messages import EmailContent
from review.audit_sentences import sentence
from review.navigation import shanghai
from tests import factories

PASSWORD = "Kx93-2a77"
ACCOUNT = "6222020200112233445"


def _done(row, status: Delivery, attempts: int = 1, error: str | None = None):
    row.status, row.attempts, row.next_attempt_at, row.error = status, attempts, None, error
    if status is Delivery.SENT:
        row.sent_at = utcnow()
    return row


@pytest.fixture
def messages(app, db_session):
    """An order with a message in each state, and another order with one SMS."""
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    order.account_number = ACCOUNT
    other = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    found = {
        "password": _done(outbox.queue_sms(db_session, order.legal_rep.phone, SmsContent(
            "certificate_password", "SMS_000007", {"password": PASSWORD}, f"证书密码{PASSWORD}"), order=order,
            secret=True), Delivery.SENT),
        "failed_mail": _done(outbox.queue_email(
            db_session, "agent@fail.example", EmailContent("review_approved", "订单审核通过", "正文"), order=order,
            attachments=[Attachment("invoice.pdf", "application/pdf", b"%PDF-1.7")]),
            Delivery.FAILED, 5, "550 mailbox unavailable"),
        "unknown_transfer": _done(outbox.queue_transfer(db_session, order, f"密码{PASSWORD}"), Delivery.UNKNOWN, 5),
        "code": _done(outbox.queue_sms(db_session, order.agent.phone, SmsContent(
            "order_signature", "SMS_000001", {"code": "123456"}, "验证码123456"), order=order,
            expires_at=utcnow() + dt.timedelta(minutes=5)), Delivery.SENT),
        "retrying": outbox.queue_sms(db_session, order.agent.phone, SmsContent(
            "review_approved", "SMS_000003", {}, "通过"), order=order),
        "other": _done(outbox.queue_sms(db_session, other.agent.phone, SmsContent(
            "review_rejected", "SMS_000004", {}, "驳回"), order=other), Delivery.SENT),
    }
    found["retrying"].attempts, found["retrying"].error = 1, "carrier down"
    db_session.commit()
    return {"order": order.number, "other_order": other.number, "legal_rep_phone": order.legal_rep.phone,
            "agent_phone": order.agent.phone, **{name: row.id for name, row in found.items()}}


def _rows(page: str) -> int:
    return page.count('class="message')


def _listed(page: str) -> list[tuple[str, str]]:
    """(channel, id) of each row, top to bottom."""
    return re.findall(r'data-message="(\w+)-(\d+)"', page)


def _row(page: str, message: str) -> str:
    """The HTML of one row of the list, by its channel-id."""
    return page.split(f'data-message="{message}"', 1)[1].split("</tr>", 1)[0]


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="messages-')
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


CHANNEL_NAMES = {"SMS": "sms", "E-mail": "email", "0.01-yuan transfer": "transfer"}


def test_the_centre_lists_every_message_masked_and_never_its_text(client, login_as, messages):
    login_as(StaffRole.SENIOR_REVIEWER)
    page = client.get("/console/messages?lang=en").get_data(as_text=True)

    for name in ("password", "code", "retrying", "other"):
        assert f'data-message="sms-{messages[name]}"' in page
    assert f'data-message="email-{messages["failed_mail"]}"' in page
    assert f'data-message="transfer-{messages["unknown_transfer"]}"' in page
    assert "550 mailbox unavailable" in page and "carrier down" in page
    assert PASSWORD not in page and "123456" not in page, "a message's text never shows"
    phone = messages["legal_rep_phone"]
    assert phone not in page and f"{phone[:3]}****{phone[-4:]}" in page
    assert ACCOUNT not in page and f"6222{'*' * 11}3445" in page
    assert 'href="/console/orders/' + messages["order"] in page


def test_the_centre_searches_by_order_and_phone_and_filters_by_kind_and_status(client, login_as, messages):
    login_as(StaffRole.ADMIN)

    by_order = client.get(f"/console/messages?number={messages['other_order']}").get_data(as_text=True)
    assert _rows(by_order) == 1 and f'data-message="sms-{messages["other"]}"' in by_order

    phone = messages["agent_phone"]
    by_phone = client.get(f"/console/messages?phone={phone[:3]} {phone[3:7]} {phone[7:]}").get_data(as_text=True)
    assert _rows(by_phone) == 2  # the code's SMS and the one retrying; no e-mail, no transfer

    emails = client.get("/console/messages?channel=email").get_data(as_text=True)
    assert _rows(emails) == 1 and f'data-message="email-{messages["failed_mail"]}"' in emails

    client.get("/console/messages?lang=zh_CN")  # the labels are the language of each page, not of the first
    failed = client.get("/console/messages?status=failed&lang=en").get_data(as_text=True)
    assert _rows(failed) == 1 and "Not delivered (1)" in failed and "Sent (3)" not in failed


def test_pages_follow_each_other_newest_first_without_a_gap(db_session, messages):
    size, seen, number = 4, [], 1
    while True:
        page = centre.outbox_page(db_session, centre.OutboxFilter(), number, size)
        seen += [(row.channel, row.id) for row in page.rows]
        if not page.has_next:
            break
        number += 1
    assert number == 2 and len(seen) == len(set(seen)) == 6
    everything = centre.outbox_page(db_session, centre.OutboxFilter(), 1, 50)
    assert sum(everything.by_status.values()) == 6 and everything.by_status[Delivery.SENT] == 3
    times = [row.created_at for row in everything.rows]
    assert times == sorted(times, reverse=True)


def test_a_failed_email_sent_again_is_a_new_send_the_outbox_delivers_and_the_audit_tells(
        app, client, db_session, login_as, messages, worker_round):
    staff = login_as(StaffRole.SENIOR_REVIEWER)
    url = f"/console/messages/email/{messages['failed_mail']}/resend?status=failed"
    response = client.post(url)
    assert response.status_code == 302 and response.headers["Location"].endswith("/console/messages?status=failed")

    db_session.expire_all()
    original = db_session.get(EmailMessage, messages["failed_mail"])
    copy = db_session.scalars(select(EmailMessage).where(EmailMessage.id != original.id)).one()
    assert original.status == Delivery.FAILED and original.attempts == 5, "the row it copies stays as it was"
    assert (copy.status, copy.attempts, copy.to_address, copy.subject, copy.body) == (
        Delivery.QUEUED, 0, "agent@fail.example", "订单审核通过", "正文")
    assert [(a.filename, a.content) for a in copy.attachments] == [("invoice.pdf", b"%PDF-1.7")]
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "outbox.resent")).one()
    assert entry.actor == f"staff:{staff.username}" and entry.order.number == messages["order"]
    with app.test_request_context("/?lang=en"):
        assert sentence(entry, {}) == (f"{staff.username} sent the e-mail review_approved "
                                       f"(email_message:{original.id}) again, as a new send ({copy.id}).")

    page = client.get("/console/messages?lang=en").get_data(as_text=True)
    assert "A copy of this message is already waiting" not in page
    again = client.post(url, follow_redirects=True).get_data(as_text=True)
    assert "A copy of this message is already waiting in the outbox." in again

    copy_id = copy.id
    worker_round()  # the sandbox refuses fail.example: the copy is retried by the outbox, as any other
    db_session.expire_all()
    copy = db_session.get(EmailMessage, copy_id)
    assert copy.attempts == 1 and copy.status == Delivery.QUEUED and copy.next_attempt_at is not None


def test_a_password_sms_is_sent_again_sealed_by_a_senior_reviewer_only(client, db_session, login_as, messages,
                                                                        worker_round):
    url = f"/console/messages/sms/{messages['password']}/resend?lang=en"
    login_as(StaffRole.ADMIN)
    page = client.get("/console/messages?lang=en").get_data(as_text=True)
    assert "only a senior reviewer may send it again" in page
    refused = client.post(url, follow_redirects=True).get_data(as_text=True)
    assert "This message carries a password: only a senior reviewer may send it again." in refused
    assert db_session.scalar(select(func.count()).select_from(SmsMessage)
                             .where(SmsMessage.template == "certificate_password")) == 1

    login_as(StaffRole.SENIOR_REVIEWER)
    client.post(url)
    db_session.expire_all()
    copy = db_session.scalars(select(SmsMessage).where(SmsMessage.template == "certificate_password")
                              .order_by(SmsMessage.id.desc())).first()
    copy_id = copy.id
    assert copy_id != messages["password"] and copy.phone == messages["legal_rep_phone"]
    assert copy.carries_secret and copy.body is None and copy.text == f"证书密码{PASSWORD}"
    assert copy.params == {"password": PASSWORD}
    worker_round()
    db_session.expire_all()
    assert db_session.get(SmsMessage, copy_id).status == Delivery.SENT


@pytest.mark.parametrize(("name", "channel", "reason"), [
    ("retrying", "sms", "The outbox is still trying this message; its retries are its own."),
    ("unknown_transfer", "transfer", "The bank has not said whether this transfer was made"),
    ("code", "sms", "A verification code's message is never sent again"),
])
def test_what_may_not_be_sent_again_is_refused_with_its_reason(client, db_session, login_as, messages, name, channel,
                                                             reason):
    login_as(StaffRole.SENIOR_REVIEWER)
    counts = [db_session.scalar(select(func.count()).select_from(m)) for m in (SmsMessage, BankTransfer)]
    page = client.post(f"/console/messages/{channel}/{messages[name]}/resend?lang=en",
                       follow_redirects=True).get_data(as_text=True)
    assert reason in page
    db_session.expire_all()
    assert [db_session.scalar(select(func.count()).select_from(m)) for m in (SmsMessage, BankTransfer)] == counts
    assert db_session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "outbox.resent")) == 0


def test_an_unknown_outbox_or_message_is_not_found(client, login_as, messages):
    login_as(StaffRole.SENIOR_REVIEWER)
    assert client.post("/console/messages/fax/1/resend").status_code == 404
    assert client.post(f"/console/messages/email/{messages['failed_mail'] + 1000}/resend").status_code == 404


@pytest.fixture
def dated(app, db_session):
    """Four SMS about one order, queued either side of the days 2020-03-01 to 2020-03-10, Beijing time."""
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    found = {}
    for name, moment in (("day_before", "2020-02-29 23:59:59"), ("first_moment", "2020-03-01 00:00:00"),
                         ("last_minute", "2020-03-10 23:59:00"), ("day_after", "2020-03-11 00:00:00")):
        sms = outbox.queue_sms(db_session, order.agent.phone, SmsContent("review_approved", "SMS_000003", {}, "通过"),
                               order=order)
        sms.created_at = dt.datetime.fromisoformat(moment).replace(tzinfo=BUSINESS_TZ)
        found[name] = str(sms.id)
    db_session.commit()
    return found


def test_the_days_are_beijing_days_of_queueing_both_ends_included(client, login_as, dated):
    login_as(StaffRole.SENIOR_REVIEWER)

    page = client.get("/console/messages?from=2020-03-01&to=2020-03-10").get_data(as_text=True)
    assert _listed(page) == [("sms", dated["last_minute"]), ("sms", dated["first_moment"])]
    assert 'value="2020-03-01"' in page and 'value="2020-03-10"' in page

    last_day = client.get("/console/messages?to=2020-03-10&from=2020-03-10").get_data(as_text=True)
    assert _listed(last_day) == [("sms", dated["last_minute"])], "23:59 is the day's, 00:00 the next day's"
    from_the_11th = client.get("/console/messages?from=2020-03-11").get_data(as_text=True)
    assert _listed(from_the_11th) == [("sms", dated["day_after"])]
    until_the_29th = client.get("/console/messages?to=2020-02-29").get_data(as_text=True)
    assert _listed(until_the_29th) == [("sms", dated["day_before"])]


def test_a_day_that_is_not_a_date_is_said_and_filters_nothing(client, login_as, dated):
    login_as(StaffRole.ADMIN)
    page = client.get("/console/messages?from=2020-02-30&to=2020-03-10&lang=en").get_data(as_text=True)
    assert "“2020-02-30” is not a date: give it as YYYY-MM-DD." in page
    assert _listed(page) == [("sms", dated[name]) for name in ("last_minute", "first_moment", "day_before")]

    far = client.get("/console/messages?to=9999-12-31&lang=en").get_data(as_text=True)
    assert "Choose a day between 2000-01-01 and 2999-12-31." in far and len(_listed(far)) == 4

    download = client.get("/console/messages.csv?from=2020-02-30&to=2020-03-10")
    assert download.status_code == 302, "no download that quietly ignores a day"
    assert download.headers["Location"].endswith("/console/messages?from=2020-02-30&to=2020-03-10")


def test_the_download_holds_the_rows_of_the_screen_masked_and_never_a_text(client, login_as, messages, dated):
    login_as(StaffRole.SENIOR_REVIEWER)
    for query in (f"number={messages['order']}", "from=2020-03-01&to=2020-03-10", "status=sent"):
        page = client.get(f"/console/messages?{query}&lang=en").get_data(as_text=True)
        rows = _csv(client.get(f"/console/messages.csv?{query}&lang=en"))
        assert [(CHANNEL_NAMES[row["Message"].split(" · ")[0]], row["No."]) for row in rows] == _listed(page)
        assert rows, query

    rows = _csv(client.get(f"/console/messages.csv?number={messages['order']}&lang=en"))
    text = repr(rows)
    assert PASSWORD not in text and "123456" not in text and "正文" not in text, "never a message's text"
    phone = messages["legal_rep_phone"]
    assert phone not in text and ACCOUNT not in text
    by_no = {(CHANNEL_NAMES[row["Message"].split(" · ")[0]], row["No."]): row for row in rows}
    password_sms = by_no["sms", str(messages["password"])]
    assert (password_sms["To"], password_sms["Message"], password_sms["Status"]) == (
        f"{phone[:3]}****{phone[-4:]}", "SMS · Certificate password", "Sent")
    transfer = by_no["transfer", str(messages["unknown_transfer"])]
    assert transfer["To"].endswith(f"6222{'*' * 11}3445") and transfer["Request no."]
    mail = by_no["email", str(messages["failed_mail"])]
    assert (mail["Status"], mail["Attempts"], mail["Last error"]) == ("Not delivered", "5", "550 mailbox unavailable")


def test_a_download_too_big_to_build_is_refused_with_the_reason(client, login_as, messages, monkeypatch):
    from review import outbox_views
    monkeypatch.setattr(outbox_views, "EXPORT_LIMIT", 4)
    login_as(StaffRole.ADMIN)

    assert len(_csv(client.get("/console/messages.csv?channel=sms"))) == 4
    refused = client.get(f"/console/messages.csv?number={messages['order']}&lang=en")  # 5 messages
    assert refused.status_code == 302
    assert refused.headers["Location"].endswith(f"/console/messages?number={messages['order']}")
    page = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "More than 4 messages match: choose fewer days to download them." in page


def test_a_copy_and_its_original_name_each_other_on_the_list_and_in_the_download(client, db_session, login_as,
                                                                                 messages):
    login_as(StaffRole.SENIOR_REVIEWER)
    original = messages["failed_mail"]
    client.post(f"/console/messages/email/{original}/resend")
    db_session.expire_all()
    copy = db_session.scalars(select(EmailMessage.id).where(EmailMessage.resent_from_id == original)).one()
    assert db_session.get(EmailMessage, original).resent_from_id is None

    page = client.get("/console/messages?channel=email&lang=en").get_data(as_text=True)
    link = f'/console/messages?number={messages["order"]}&amp;channel=email#email-'
    copy_row, original_row = _row(page, f"email-{copy}"), _row(page, f"email-{original}")
    assert f'copy of <a href="{link}{original}">#{original}</a>' in copy_row and "sent again as" not in copy_row
    assert f'sent again as <a href="{link}{copy}">#{copy}</a>' in original_row and "copy of" not in original_row
    assert f'id="email-{original}"' in client.get(f"/console/messages?number={messages['order']}&channel=email")\
        .get_data(as_text=True), "the link leads to the row"

    rows = {row["No."]: row for row in _csv(client.get("/console/messages.csv?channel=email&lang=en"))}
    assert (rows[str(copy)]["Copy of"], rows[str(copy)]["Sent again as"]) == (str(original), "")
    assert (rows[str(original)]["Copy of"], rows[str(original)]["Sent again as"]) == ("", str(copy))

    # The order page's messages: the copy says it was sent again by hand, and when its original was queued.
    order_page = client.get(f"/console/orders/{messages['order']}?lang=en").get_data(as_text=True)
    queued = shanghai(db_session.get(EmailMessage, original).created_at)
    assert order_page.count(f"sent again by hand, a copy of the one queued {queued}") == 1
