"""A personal certificate's order (个人数字证书) in the review console: its own queue with its SLA target,
the holder instead of an organisation on every page, the ID front and back to check, the holder's own
identity check (phone real-name or bank card), and the certificate password by SMS to the holder."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from models import (
    AgentIdentityMethod,
    BusinessType,
    CertKind,
    DenyListEntry,
    EmailMessage,
    IdentityCheck,
    Order,
    OrderStatus,
    ReviewQueue,
    SmsMessage,
    StaffRole,
)
from models.base import utcnow
from models.calendar import SlaPolicy
from notifications.outbox import latest_for
from review import digest, dual_control, operations, queues, sla
from tests import factories
from tests.review.approvals import approve, registered_certificate

HOLDER_ID = "110105199003071239"


class _Snapshot:
    """What a test needs of an order, read before requests detach it."""

    def __init__(self, order: Order):
        self.id, self.number = order.id, order.number
        self.name, self.phone, self.email = order.holder.name, order.holder.phone, order.holder.email
        self.id_masked = order.holder.id_number_masked


@pytest.fixture
def personal(app, db_session):
    order = _Snapshot(factories.paid_personal_order(db_session, app.config["UPLOAD_FOLDER"], name="林静怡"))
    db_session.commit()
    return order


def _order(db_session, number: str) -> Order:
    db_session.expire_all()
    return db_session.scalar(select(Order).where(Order.number == number))


def _numbers(html: str) -> list[str]:
    return re.findall(r'<tr data-order="([^"]+)"', html)


def _tick_all(client, number: str) -> dict:
    page = client.get(f"/console/orders/{number}").get_data(as_text=True)
    return {name: "y" for name in re.findall(r'name="(check-(?:\d+|order)-\w+)"', page)}


def test_a_paid_personal_order_waits_in_the_personal_queue_by_its_own_target(app, db_session):
    paid_at = utcnow()
    order = factories.paid_personal_order(db_session, app.config["UPLOAD_FOLDER"], paid_at=paid_at)
    assert order.personal and order.organisation is None and order.number[8] == "P"
    assert order.queue is ReviewQueue.PERSONAL
    policy = sla.policy_for(db_session, BusinessType.NEW, CertKind.PERSONAL)
    assert order.sla_due_at == sla.load_calendar(db_session).add_working_days(paid_at, policy.target_days)
    assert queues.queue_counts(db_session, ttl=0)[ReviewQueue.PERSONAL] >= 1


def test_the_personal_queue_lists_the_holder_and_finds_them_by_name_and_phone(client, login_as, personal, app,
                                                                               db_session):
    unit = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"]).number
    db_session.commit()
    login_as(StaffRole.REVIEWER)
    page = client.get("/console/queues/personal").get_data(as_text=True)
    assert _numbers(page) == [personal.number] and "林静怡" in page and unit not in page
    assert re.search(r'data-queue="personal">[^<]*<span[^>]*>1</span>', page)
    assert _numbers(client.get("/console/queues/personal?q=静怡").get_data(as_text=True)) == [personal.number]
    assert _numbers(client.get(f"/console/queues/personal?q={personal.phone}").get_data(as_text=True)) == [
        personal.number]
    assert _numbers(client.get("/console/queues/personal?q=nobody").get_data(as_text=True)) == []
    assert _numbers(client.get("/console/queues/personal?region=410000").get_data(as_text=True)) == [personal.number]
    assert _numbers(client.get("/console/queues/personal?reviewer=none&due=due_in_1_day&type=new")
                    .get_data(as_text=True)) in ([], [personal.number])
    # The support line's search, by name, phone and number; every role may use it.
    login_as(StaffRole.FINANCE)
    for text in ("林静怡", personal.phone, personal.number):
        found = client.get(f"/console/search?q={text}").get_data(as_text=True)
        assert f"/console/orders/{personal.number}" in found and "林静怡" in found, text


@pytest.mark.usefixtures("in_app")  # the digest is rendered in the app
def test_an_overdue_personal_order_is_on_the_overdue_page_the_badge_and_the_digest(client, login_as, app,
                                                                                   db_session):
    late = factories.paid_personal_order(db_session, app.config["UPLOAD_FOLDER"], name="赵晓东",
                                         paid_at=utcnow() - dt.timedelta(days=30))
    number = late.number
    db_session.commit()
    assert queues.sla_badges(db_session, sla.load_calendar(db_session), utcnow(), ttl=0)["overdue"] >= 1
    mail = digest.digest(db_session, utcnow())
    assert number in mail.body and "赵晓东" in mail.body
    login_as(StaffRole.SENIOR_REVIEWER)
    page = client.get("/console/overdue").get_data(as_text=True)
    assert number in _numbers(page) and "赵晓东" in page


def test_the_review_screen_shows_the_holder_and_the_id_front_and_back(client, login_as, personal):
    login_as(StaffRole.REVIEWER)
    page = client.get(f"/console/orders/{personal.number}").get_data(as_text=True)
    assert f"{personal.number} · 林静怡" in page
    assert personal.id_masked in page and HOLDER_ID not in page and personal.phone in page
    assert personal.email in page and "郑州市金水区花园路2号" in page
    assert "统一社会信用代码" not in page and "法定代表人" not in page and "对公" not in page
    assert re.findall(r'data-doc="(\w+)"', page) == ["agent_id_front", "agent_id_back"]


def test_the_reviewer_claims_runs_the_holders_checks_and_approves_the_password_goes_to_the_holder(
        client, login_as, personal, db_session):
    login_as(StaffRole.REVIEWER)
    taken = client.post("/console/queues/personal/next")
    assert taken.headers["Location"].endswith(f"/console/orders/{personal.number}")
    checks = db_session.scalars(select(IdentityCheck).where(IdentityCheck.order_id == personal.id)).all()
    assert [(c.method, c.outcome) for c in checks] == [("agent_phone", "passed")], "the holder's check only"
    page = client.get(f"/console/orders/{personal.number}").get_data(as_text=True)
    assert 'data-method="agent_phone"' in page and 'data-outcome="passed"' in page
    ticks = _tick_all(client, personal.number)
    assert len(ticks) == 4, "ID front: legible, names match; back: legible, dates valid"
    client.post(f"/console/orders/{personal.number}/decide", data={"decision": "approve", **ticks})
    order = _order(db_session, personal.number)
    assert order.status is OrderStatus.APPROVED and order.queue is None
    texts = [m.text for m in db_session.scalars(select(SmsMessage).where(SmsMessage.phone == personal.phone))]
    assert any(order.certificate_password in text for text in texts), "the password by SMS to the holder"
    approved = latest_for(db_session, personal.phone).text
    assert "审核通过" in approved and "您的手机" in approved and "法定代表人" not in approved
    mail = db_session.scalars(select(EmailMessage.body).where(EmailMessage.order_id == order.id)).one()
    assert "林静怡" in mail and "法定代表人" not in mail and order.certificate_password not in mail


def test_the_bank_card_check_is_the_holders_and_a_failure_blocks_approval(client, login_as, app, db_session):
    order = factories.paid_personal_order(db_session, app.config["UPLOAD_FOLDER"],
                                          agent_identity_method=AgentIdentityMethod.BANK_CARD,
                                          bank_card_number="6222021234560000")
    number, order_id = order.number, order.id
    db_session.commit()
    login_as(StaffRole.REVIEWER)
    client.post(f"/console/orders/{number}/claim")
    [check] = db_session.scalars(select(IdentityCheck).where(IdentityCheck.order_id == order_id)).all()
    assert (check.method, check.outcome) == ("agent_bank_card", "failed")
    page = client.get(f"/console/orders/{number}").get_data(as_text=True)
    assert 'data-method="agent_bank_card"' in page and "6222021234560000" not in page
    client.post(f"/console/orders/{number}/decide", data={"decision": "approve", **_tick_all(client, number)})
    assert _order(db_session, number).status is OrderStatus.IN_REVIEW, "identity verification has not passed"


def test_rejection_and_more_materials_speak_to_the_holder(client, login_as, app, personal, db_session):
    login_as(StaffRole.REVIEWER)
    client.post(f"/console/orders/{personal.number}/claim")
    ticks = _tick_all(client, personal.number)
    client.post(f"/console/orders/{personal.number}/decide", data={
        "decision": "more_materials", "kinds": ["agent_id_back"], "note": "国徽面模糊", **ticks})
    order = _order(db_session, personal.number)
    assert order.status is OrderStatus.MORE_MATERIALS_NEEDED
    asked = latest_for(db_session, personal.phone).text
    assert "身份证国徽面" in asked and "经办人" not in asked and "/more/" in asked

    other = factories.paid_personal_order(db_session, app.config["UPLOAD_FOLDER"])
    number, phone = other.number, other.holder.phone
    db_session.commit()
    client.post(f"/console/orders/{number}/claim")
    client.post(f"/console/orders/{number}/decide", data={"decision": "reject", "note": "身份证已过期"})
    assert _order(db_session, number).status is OrderStatus.REJECTED
    assert "身份证已过期" in latest_for(db_session, phone).text


def test_a_deny_listed_holder_id_blocks_approval(client, login_as, personal, db_session):
    db_session.add(DenyListEntry(id_number=HOLDER_ID, reason="冒用他人身份", added_by="staff:test"))
    db_session.commit()
    login_as(StaffRole.REVIEWER)
    client.post(f"/console/orders/{personal.number}/claim")
    page = client.get(f"/console/orders/{personal.number}").get_data(as_text=True)
    assert "warning-deny_list" in page and "林静怡" in page
    client.post(f"/console/orders/{personal.number}/decide",
                data={"decision": "approve", **_tick_all(client, personal.number)})
    assert _order(db_session, personal.number).status is OrderStatus.IN_REVIEW


@pytest.mark.usefixtures("in_app")  # the approval's messages are rendered in the app
def test_the_same_holders_orders_and_valid_certificate_are_flagged(app, client, login_as, db_session):
    reviewer = factories.staff(db_session, StaffRole.REVIEWER, "personal-earlier")
    earlier = factories.paid_personal_order(db_session, app.config["UPLOAD_FOLDER"])
    approve(db_session, earlier, reviewer)
    registered_certificate(db_session, earlier, "feed" * 8)
    stranger = factories.paid_personal_order(db_session, app.config["UPLOAD_FOLDER"], id_number="11010519491231002X")
    again = factories.paid_personal_order(db_session, app.config["UPLOAD_FOLDER"])
    numbers = earlier.number, stranger.number, again.number
    db_session.commit()
    login_as(StaffRole.REVIEWER)
    page = client.get(f"/console/orders/{numbers[2]}").get_data(as_text=True)
    assert "warning-valid_certificate" in page and "feed" * 8 in page
    earlier_rows = re.findall(r'<tr data-order="([^"]+)">\s*<td><a', page)
    assert numbers[0] in earlier_rows and numbers[1] not in earlier_rows
    # The certificate register finds the holder's certificate by their name and shows it.
    register = client.get("/console/certificates?q=王小明").get_data(as_text=True)
    assert "feed" * 8 in register and "王小明" in register
    certificate = client.get(f"/console/certificates/{'feed' * 8}").get_data(as_text=True)
    assert f"{numbers[0]}</a>\n        · 王小明" in certificate


@pytest.mark.usefixtures("in_app")
def test_a_changed_holder_id_on_an_information_change_needs_two_seniors(app, client, login_as, db_session):
    reviewer = factories.staff(db_session, StaffRole.REVIEWER, "personal-change")
    earlier = factories.paid_personal_order(db_session, app.config["UPLOAD_FOLDER"])
    approve(db_session, earlier, reviewer)
    change = factories.personal_order(db_session, app.config["UPLOAD_FOLDER"], business_type=BusinessType.INFO_CHANGE,
                                      id_number="11010519491231002X")
    change.previous_order = earlier
    change.move_to(OrderStatus.PAID, "applicant:test")
    operations.enqueue_paid_order(db_session, change)
    db_session.flush()
    assert change.queue is ReviewQueue.PERSONAL
    assert dual_control.changed_identity(db_session, change) == ["holder_id"]
    assert operations.needs_senior(db_session, change)
    number = change.number
    db_session.commit()
    login_as(StaffRole.SENIOR_REVIEWER)
    page = client.get(f"/console/orders/{number}").get_data(as_text=True)
    assert 'id="identity-changes"' in page and 'id="info-change-panel"' in page
    assert re.search(r'data-changed="yes"><th scope="row">[^<]*(ID|证件)', page)


def test_an_admin_edits_the_personal_new_target_and_a_personal_order_paid_after_gets_it(app, client, login_as,
                                                                                         db_session):
    policy = db_session.scalar(select(SlaPolicy).where(SlaPolicy.business_type == BusinessType.NEW,
                                                       SlaPolicy.cert_kind == CertKind.PERSONAL))
    policy_id, shipping_days = policy.id, policy.shipping_days
    unit_target = sla.policy_for(db_session, BusinessType.NEW, CertKind.UNIT).target_days
    login_as(StaffRole.ADMIN)
    response = client.post(f"/console/admin/sla/edit/?id={policy_id}", data={
        "business_type": "new", "cert_kind": "personal", "target_days": "8", "limit_days": "12",
        "shipping_days": str(shipping_days)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    db_session.expire_all()
    assert (sla.policy_for(db_session, BusinessType.NEW, CertKind.PERSONAL).target_days,
            sla.policy_for(db_session, BusinessType.NEW, CertKind.UNIT).target_days) == (8, unit_target)
    paid_at = utcnow()
    order = factories.paid_personal_order(db_session, app.config["UPLOAD_FOLDER"], paid_at=paid_at)
    unit = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], paid_at=paid_at)
    calendar = sla.load_calendar(db_session)
    assert order.sla_due_at == calendar.add_working_days(paid_at, 8)
    assert order.sla_limit_at == calendar.add_working_days(paid_at, 12)
    assert unit.sla_due_at == calendar.add_working_days(paid_at, unit_target)


def test_the_approval_sends_the_password_to_the_holder_without_a_legal_representative(app, db_session, in_app):
    reviewer = factories.staff(db_session, StaffRole.REVIEWER, "personal-effects")
    order = factories.paid_personal_order(db_session, app.config["UPLOAD_FOLDER"])
    approve(db_session, order, reviewer)
    assert order.status is OrderStatus.APPROVED and len(order.certificate_password) == 8
    secret = db_session.scalars(select(SmsMessage).where(SmsMessage.order_id == order.id,
                                                         SmsMessage.phone == order.holder.phone)).all()
    assert any(order.certificate_password in m.text for m in secret)


@pytest.mark.parametrize("business_type", [BusinessType.REPLACEMENT, BusinessType.REVOCATION, BusinessType.UNLOCK,
                                           BusinessType.INFO_CHANGE, BusinessType.RENEWAL])
@pytest.mark.usefixtures("in_app")  # a renewal is approved at once: its messages are rendered in the app
def test_every_after_sale_personal_order_opens_for_its_reviewer(client, login_as, app, db_session, business_type):
    order = factories.paid_personal_order(db_session, app.config["UPLOAD_FOLDER"], business_type=business_type)
    number, queued = order.number, order.queue
    db_session.commit()
    login_as(StaffRole.SENIOR_REVIEWER)
    if queued is not None:
        assert queued is ReviewQueue.PERSONAL
        client.post(f"/console/orders/{number}/claim")
    page = client.get(f"/console/orders/{number}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"{number} · 王小明" in html and "法定代表人" not in html, "nor a reason about a legal representative"
