"""After sale for personal certificates (个人数字证书): the order query by the holder's ID and phone (only
personal orders), revocation asked for by the holder to the review queue and revoked, and the unlock of the
holder's key verified by the holder's name and ID, its code to the holder's phone."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from issuance.interfaces import Revoked, SigningService
from models import (
    AuditEntry,
    BusinessType,
    HelperSession,
    Order,
    OrderStatus,
    ReviewQueue,
    RevocationReason,
    SmsCode,
    SmsMessage,
    StaffRole,
    Token,
    TokenState,
)
from models.base import utcnow
from protocol import helper as protocol
from tests import factories
from tests.conftest import sms_code_in
from tests.factories import resident_id
from tests.public.key_helper.fake_helper import FakeHelper
from tests.public.personal import HOLDER_NAME, held_certificate, personal_order
from tests.public.test_order_query import ask
from tests.public.test_revocation import a_minute_later, revocations
from tests.review.approvals import approve
from web.services import service_replaced

PERSONAL = {"cert_kind": "personal", "id_type": "resident_id"}


@pytest.fixture
def held(db_session):
    return held_certificate(db_session)


@pytest.fixture
def verify(client, db_session, latest_sms):
    """The personal order query asked and its SMS code (to the holder's phone) entered."""

    def enter(id_number: str, phone: str, purpose: str = ""):
        a_minute_later(db_session)
        client.get(f"/query{purpose}")
        assert ask(client, id_number, phone, **PERSONAL).headers["Location"].endswith("/query/verify")
        return client.post("/query/verify", data={"sms_code": sms_code_in(latest_sms(phone))})

    return enter


def codes(db_session) -> list[SmsCode]:
    return list(db_session.scalars(select(SmsCode)))


# The order query


def test_the_holders_id_and_phone_list_their_personal_orders_only(app, client, db_session, held, verify):
    as_agent = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], agent_id_number=held.id_number,
                                    agent_phone=held.phone)  # the same person, an organisation's agent
    open_one = personal_order(db_session, id_number=held.id_number, phone=held.phone, status=OrderStatus.PAID)
    someone_else = personal_order(db_session, id_number=resident_id(9999), phone=held.phone)
    numbers = as_agent.number, open_one.number, someone_else.number
    db_session.commit()
    assert verify(held.id_number, held.phone).headers["Location"].endswith("/query/results")
    sms = db_session.scalars(select(SmsMessage).where(SmsMessage.template == "order_query")).one()
    assert sms.phone == held.phone  # the holder's phone on file
    response = client.get("/query/results?lang=en")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
    unit, still_open, stranger = numbers
    assert held.number in page and still_open in page
    assert unit not in page and stranger not in page
    assert "Personal certificate" in page and HOLDER_NAME in page and "By SMS to the holder's phone" in page
    assert held.id_number not in page and held.phone not in page
    row = page.split(f'id="order-{held.number}"')[1].split("</tr>")[0]
    services = re.findall(r'data-service="([a-z]+)" href="([^"]+)"', row)
    assert ("revocation", f"/revocation/{held.serial}") in services
    assert ("unlock", "/c/direct/unlock") in services


def test_an_unknown_id_gets_the_same_answer_and_no_code(client, db_session, held):
    answers = []
    for id_number in (resident_id(4242), held.id_number):
        response = ask(client, id_number, "13900000001", **PERSONAL)  # the second: not the holder's phone
        answers.append((response.status_code, response.headers["Location"]))
        page = client.get("/query/verify").get_data(as_text=True)  # said in the language it was asked in
        assert "如该手机号是此证件号码订单的经办人（个人证书为持有人）手机号" in page
    assert answers[0] == answers[1] and answers[0][1].endswith("/query/verify")
    assert codes(db_session) == []


def test_a_unit_orders_agent_is_not_found_as_a_holder(app, client, db_session):
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], agent_id_number=resident_id(77),
                                 agent_phone="13600000077")
    db_session.commit()
    assert ask(client, resident_id(77), order.agent.phone, **PERSONAL).status_code == 302
    assert codes(db_session) == []


# Revocation


def test_the_holder_revokes_a_personal_certificate_through_the_personal_queue(app, client, db_session, held,
                                                                              verify, latest_sms):
    verify(held.id_number, held.phone, "?for=revocation")
    listing = client.get("/revocation?lang=en").get_data(as_text=True)
    assert "These are your valid personal certificates" in listing and f'href="/revocation/{held.serial}"' in listing

    form = client.get(f"/revocation/{held.serial}?lang=en").get_data(as_text=True)
    assert 'id="revocation-holder"' in form and HOLDER_NAME in form and "legal_rep_name" not in form
    assert held.id_number not in form
    refused = client.post(f"/revocation/{held.serial}?lang=en", data={"reason": "5", "note": "不再使用"})
    assert refused.status_code == 200 and 'data-error-for="consent"' in refused.get_data(as_text=True)
    assert revocations(db_session) == []
    response = client.post(f"/revocation/{held.serial}", data={
        "reason": str(int(RevocationReason.CESSATION_OF_OPERATION)), "note": "不再使用", "consent": "y",
        "understood": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    number = response.headers["Location"].rsplit("/", 1)[1]
    [order] = revocations(db_session)
    earlier = db_session.scalars(select(Order).where(Order.number == held.number)).one()
    assert order.number == number and order.personal and order.price_cents == 0
    assert order.organisation is None and order.legal_rep is None and order.identity_method is None
    assert order.holder.id_number == held.id_number and order.holder.id != earlier.holder.id
    assert order.holder.subject_serial == earlier.holder.subject_serial

    confirm = client.get(f"/revocation/orders/{number}?lang=en").get_data(as_text=True)
    assert HOLDER_NAME in confirm and 'id="revocation-signed-by-holder"' in confirm
    assert "Legal representative" not in confirm and "Unified social credit code" not in confirm
    assert client.post(f"/apply/{number}/materials/done").headers["Location"].endswith(f"/apply/{number}/signature")
    signature = client.get(f"/apply/{number}/signature").get_data(as_text=True)
    assert "本人向" in signature and "我单位" not in signature
    a_minute_later(db_session)
    client.post(f"/apply/{number}/signature/code")
    signed = client.post(f"/apply/{number}/signature", data={"sms_code": sms_code_in(latest_sms(held.phone))})
    assert signed.headers["Location"].endswith(f"/apply/{number}/done")
    done = client.get(f"/apply/{number}/done?lang=en").get_data(as_text=True)
    assert "the holder's identity is checked" in done

    [order] = revocations(db_session)
    assert order.status is OrderStatus.PAID and order.queue is ReviewQueue.PERSONAL


def test_approved_by_two_senior_reviewers_the_personal_certificate_is_revoked(app, client, db_session, held, verify,
                                                                              latest_sms):
    verify(held.id_number, held.phone, "?for=revocation")
    number = client.post(f"/revocation/{held.serial}", data={
        "reason": str(int(RevocationReason.KEY_COMPROMISE)), "note": "", "consent": "y", "understood": "y"}
    ).headers["Location"].rsplit("/", 1)[1]
    client.post(f"/apply/{number}/materials/done")
    a_minute_later(db_session)
    client.post(f"/apply/{number}/signature/code")
    client.post(f"/apply/{number}/signature", data={"sms_code": sms_code_in(latest_sms(held.phone))})
    [order] = revocations(db_session)
    order_id = order.id
    seniors = [factories.staff(db_session, StaffRole.SENIOR_REVIEWER, name) for name in ("rv-chen", "rv-zhou")]
    with app.app_context():
        approve(db_session, order, *seniors)
        assert order.status is OrderStatus.APPROVED
        db_session.commit()  # before the context is left: leaving it closes the test's session
    signing = RevokingService(held.serial)
    with service_replaced(app, SigningService, signing):
        factories.worker_round(app)
    assert signing.asked == [number]
    db_session.expire_all()
    assert db_session.get(Order, order_id).status is OrderStatus.COMPLETED
    key = db_session.scalars(select(Token).where(Token.serial == held.media_serial)).one()
    assert key.state is TokenState.REVOKED
    told = db_session.scalars(select(SmsMessage.phone).where(SmsMessage.order_id == order_id,
                                                             SmsMessage.template == "certificate_revoked")).all()
    assert told == [held.phone]


class RevokingService:
    """The signing service as far as the worker's revocation calls it (the real one, in its own process,
    checks the approvals and marks the register: tests/issuance/test_order_revocation.py)."""

    def __init__(self, serial: str):
        self.serial, self.asked = serial, []

    def revoke_for_order(self, order_number: str) -> Revoked:
        self.asked.append(order_number)
        return Revoked(self.serial, utcnow(), RevocationReason.KEY_COMPROMISE, 2)


def test_a_unit_agents_id_still_may_not_ask_for_a_revocation(app, client, db_session, latest_sms):
    factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], agent_id_number=resident_id(88),
                         agent_phone="13600000088")
    db_session.commit()
    ask(client, resident_id(88), "13600000088", cert_kind="unit", id_type="resident_id")
    client.post("/query/verify", data={"sms_code": sms_code_in(latest_sms("13600000088"))})
    assert 'id="revocation-needs-credit-code"' in client.get("/revocation").get_data(as_text=True)


# Unlock


@pytest.fixture
def locked(db_session):
    return held_certificate(db_session, token_state=TokenState.LOCKED)


def start_unlock(client, held) -> tuple[str, FakeHelper]:
    """The home page's 证书解锁 and the fake key helper paired, reporting the locked key."""
    opened = client.get("/c/direct/unlock")
    public_id = opened.location.rsplit("/", 1)[1]
    code = re.search(r'id="pairing-code">([\d-]+)<', client.get(f"/key/{public_id}").get_data(as_text=True)).group(1)
    helper = FakeHelper(client, held.media_serial, held.pem, None, locked=True)
    assert helper.pair(code).status_code == 200
    assert helper.task() is None
    assert client.get(f"/key/{public_id}/status").get_json()["next"].endswith(f"/unlock/{public_id}")
    return public_id, helper


def holder_identity(held, **overrides) -> dict:
    return {"holder_name": HOLDER_NAME, "holder_id_type": "resident_id", "holder_id_number": held.id_number,
            **overrides}


def unlock_code_to(db_session, phone: str) -> str:
    message = db_session.scalars(select(SmsMessage).where(SmsMessage.phone == phone, SmsMessage.template == "unlock")
                                 .order_by(SmsMessage.id.desc())).first()
    assert message is not None, f"no unlock code for {phone}"
    return sms_code_in(message.text)


def unlocked_by_helper(client, db_session, helper: FakeHelper, public_id: str) -> HelperSession:
    task = helper.task()
    assert task is not None and task.kind is protocol.TaskKind.UNLOCK
    assert helper.post(f"/tasks/{task.task_id}/unlocked", {"wrong_pins": []}).status_code == 200
    db_session.expire_all()
    return db_session.scalars(select(HelperSession).where(HelperSession.public_id == public_id)).one()


def test_the_holder_unlocks_by_name_and_id_and_the_code_goes_to_the_holders_phone(client, db_session, locked,
                                                                                  login_as):
    public_id, helper = start_unlock(client, locked)
    page = client.get(f"/unlock/{public_id}?lang=en").get_data(as_text=True)
    assert 'id="unlock-holder"' in page and 'name="person"' not in page and 'name="credit_code"' not in page
    assert HOLDER_NAME in page  # the certificate recognised on the key names its holder
    other = resident_id(5151)
    for wrong in ({"holder_name": "王五"}, {"holder_id_number": other}, {"holder_id_type": "passport",
                                                                          "holder_id_number": "E12345678"}):
        refused = client.post(f"/unlock/{public_id}?way=identity&lang=en", data=holder_identity(locked, **wrong))
        text = refused.get_data(as_text=True)
        assert refused.status_code == 200 and "does not match our records" in text
        assert f'value="{list(wrong.values())[-1]}"' in text  # what was typed is kept
        assert "name" not in text.split('id="unlock-error">')[1].split("</p>")[0].lower()
    assert db_session.scalars(select(SmsMessage).where(SmsMessage.template == "unlock")).all() == []

    sent = client.post(f"/unlock/{public_id}?way=identity", data=holder_identity(locked, holder_name="王 小明"))
    assert sent.location.endswith(f"/unlock/{public_id}/code")
    code_page = client.get(sent.location + "?lang=en").get_data(as_text=True)
    assert f"goes to the holder's phone {locked.phone[:3]}****{locked.phone[-4:]}" in code_page
    assert client.post(f"/unlock/{public_id}/code", data={"code": unlock_code_to(db_session, locked.phone)}
                       ).location.endswith(f"/key/{public_id}")
    session = unlocked_by_helper(client, db_session, helper, public_id)
    order = session.order
    number = order.number
    assert session.authorised_by == "identity" and order.business_type is BusinessType.UNLOCK
    assert order.personal and order.status is OrderStatus.COMPLETED and order.previous_order.number == locked.number
    assert order.holder.id_number == locked.id_number and order.organisation is None and order.queue is None
    token = db_session.scalars(select(Token).where(Token.serial == locked.media_serial)).one()
    assert token.state is TokenState.ACTIVE and token.wrong_user_pins == 0
    notices = db_session.scalars(select(SmsMessage.phone).where(SmsMessage.order_id == order.id,
                                                                SmsMessage.template == "key_unlocked_online")).all()
    assert notices == [locked.phone]
    authorised = db_session.scalars(select(AuditEntry).where(AuditEntry.order_id == order.id,
                                                             AuditEntry.action == "unlock.authorised")).one()
    assert authorised.after["person"] == "holder"
    done = client.get(f"/unlock/{public_id}/done?lang=en").get_data(as_text=True)
    assert "the digital certificate is unlocked" in done and HOLDER_NAME in done
    login_as(StaffRole.REVIEWER)
    history = client.get(f"/console/orders/{number}/audit?lang=en").get_data(as_text=True)
    assert f"authorised the unlock of key {locked.media_serial}: the holder&#39;s name and ID checked" in history


def test_five_mismatches_an_hour_per_key(client, db_session, locked):
    public_id, _ = start_unlock(client, locked)
    for _ in range(5):
        client.post(f"/unlock/{public_id}?way=identity", data=holder_identity(locked, holder_name="王五"))
    limited = client.post(f"/unlock/{public_id}?way=identity&lang=en", data=holder_identity(locked))
    assert "Too many attempts for this key" in limited.get_data(as_text=True)
    assert db_session.scalars(select(SmsMessage).where(SmsMessage.template == "unlock")).all() == []


def test_a_key_unlocked_by_identity_before_is_unlocked_by_sms_to_the_holder(client, db_session, locked):
    public_id, helper = start_unlock(client, locked)
    client.post(f"/unlock/{public_id}?way=identity", data=holder_identity(locked))
    client.post(f"/unlock/{public_id}/code", data={"code": unlock_code_to(db_session, locked.phone)})
    unlocked_by_helper(client, db_session, helper, public_id)
    token = db_session.scalars(select(Token).where(Token.serial == locked.media_serial)).one()
    token.move_to(TokenState.LOCKED, "applicant:key-helper", note="forgotten again")
    for earlier in db_session.scalars(select(SmsCode).where(SmsCode.phone == locked.phone)):
        earlier.created_at -= dt.timedelta(minutes=2)
    db_session.commit()

    second_id, second = start_unlock(client, locked)
    page = client.get(f"/unlock/{second_id}?lang=en").get_data(as_text=True)
    assert 'id="send-unlock-code"' in page and "to the holder's phone on file" in page
    assert f"{locked.phone[:3]}****{locked.phone[-4:]}" in page and locked.phone not in page
    assert client.post(f"/unlock/{second_id}").location.endswith(f"/unlock/{second_id}/code")
    assert client.post(f"/unlock/{second_id}/code", data={"code": unlock_code_to(db_session, locked.phone)}
                       ).status_code == 302
    session = unlocked_by_helper(client, db_session, second, second_id)
    assert session.authorised_by == "sms" and session.order.status is OrderStatus.COMPLETED
