"""Unlock (证书解锁) online with the key at the applicant's PC: a SoftHSM2 key programmed by the station
agent's code, its certificate and token on file, locked by wrong key passwords as the product counts
them. The key helper is played by the helper API's own routes and the unlock core the helper shares with
the station (agent.unlocking) on the SoftHSM2 key: pairing, the key page's way to the unlock page, the
identity check (or the SMS way for a key unlocked by identity before), the authorisation code by SMS,
the UNLOCK task, the new key password set on the key and the SO PIN rotated."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from agent import programming, unlocking
from agent.programming import Outcome
from agent.tokens import WrongPin
from models import (
    AuditEntry,
    BusinessType,
    HelperSession,
    Order,
    OrderStatus,
    SmsCode,
    SmsMessage,
    StaffRole,
    Token,
    TokenState,
)
from protocol import helper as protocol
from protocol.station import Unlock
from public import operations
from tests import factories
from tests.agent.conftest import backoffice, ca, keys, make_job, pem  # noqa: F401 - fixtures
from tests.agent.test_unlocking import PIN_LIMIT, lock

NEW_PIN = "Neu-8642"  # the new key password the applicant types into the helper twice
API = protocol.API


@dataclass
class LockedKey:
    serial: str
    so_pin: str  # on file and on the key
    old_pin: str
    certificate_pem: str
    number: str  # the certificate's order
    legal_rep_phone: str
    agent_phone: str
    data: dict  # the application the order was made from


@pytest.fixture
def locked_key(app, client, db_session, keys, backoffice, make_job):  # noqa: F811 - fixtures
    """A key programmed at the station, its order completed, its certificate and token on file, then
    locked by ten wrong key passwords (SoftHSM2 never locks: the product counts them)."""
    serial = keys.blank()
    job = make_job(serial)
    assert programming.run(job, keys.station, backoffice) is Outcome.VERIFIED
    issued = backoffice.issued[job.job_id]
    with app.app_context():
        order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
        for status in (OrderStatus.IN_REVIEW, OrderStatus.APPROVED, OrderStatus.PROGRAMMING,
                       OrderStatus.PROGRAMMED, OrderStatus.SHIPPED, OrderStatus.COMPLETED):
            order.move_to(status, "staff:test")
        factories.registered_certificate(db_session, order, f"{issued.serial_number:032x}", media_serial=serial,
                                         der=issued.public_bytes(serialization.Encoding.DER))
        token = Token(serial=serial, model="SoftHSM", state=TokenState.ACTIVE, order=order, so_pin=job.so_pin)
        db_session.add(token)
        assert lock(keys, serial) == [{"pin": "user"}] * PIN_LIMIT
        token.wrong_user_pins = PIN_LIMIT
        token.move_to(TokenState.LOCKED, "applicant:key-helper", note="10 wrong key passwords")
        data = operations.form_data(order)
        db_session.commit()
        return LockedKey(serial, job.so_pin, job.user_pin, pem(issued), order.number, order.legal_rep.phone,
                         order.agent.phone, data)


class Helper:
    """The key helper on the applicant's PC, as far as the back office sees it."""

    def __init__(self, client, key: LockedKey):
        self.client, self.key, self.credential = client, key, None

    def keys(self) -> list[dict]:
        return [{"serial": self.key.serial, "label": "ESEAL-TEST", "model": "SoftHSM", "user_pin_locked": True,
                 "certificates": [self.key.certificate_pem]}]

    def post(self, path: str, body: dict):
        headers = {"Authorization": f"Bearer {self.credential}"} if self.credential else {}
        return self.client.post(API + path, json=body, headers=headers)

    def pair(self, code: str) -> None:
        answer = self.post("/pair", {"code": code, "keys": self.keys()})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        self.credential = answer.get_json()["credential"]
        assert answer.get_json()["purpose"] == "unlock"

    def poll(self):
        return self.post("/poll", {"keys": self.keys(), "wait": 0})

    def task(self) -> protocol.Task | None:
        answer = self.poll()
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return protocol.poll_answer_from_json(answer.get_json()).task

    # agent.backoffice.BackOffice, as far as agent.unlocking.run calls it
    def unlocked(self, task_id: str, done) -> None:
        assert self.post(f"/tasks/{task_id}/unlocked", {"wrong_pins": done.wrong_pins}).status_code == 200

    def unlock_failed(self, task_id: str, report) -> None:
        self.post(f"/tasks/{task_id}/failure", {"error": report.error, "message": report.message,
                                                "wrong_pins": report.wrong_pins})


def start(client, key: LockedKey) -> tuple[str, Helper]:
    """The home page's 证书解锁, the key page's pairing code typed into the helper: the unlock page's URL."""
    opened = client.get("/c/direct/unlock?lang=en")
    assert opened.status_code == 302 and "/key/" in opened.location
    public_id = opened.location.rsplit("/", 1)[1]
    page = client.get(f"/key/{public_id}").get_data(as_text=True)
    assert "Certificate unlock" in page and 'id="unlock-password-hint"' in page
    code = re.search(r'id="pairing-code">([\d-]+)<', page).group(1)
    helper = Helper(client, key)
    helper.pair(code)
    assert helper.task() is None  # nothing to do before the unlock is authorised
    status = client.get(f"/key/{public_id}/status").get_json()
    assert status["problem"] is None and status["next"].endswith(f"/unlock/{public_id}")
    return public_id, helper


def identity(key: LockedKey, **overrides) -> dict:
    names = ("org_name", "org_department", "credit_code", "org_phone", "legal_rep_name", "legal_rep_phone",
             "legal_rep_id_type", "legal_rep_id_number", "agent_name", "agent_phone", "agent_id_type",
             "agent_id_number", "agent_email", "mailing_province", "mailing_city", "mailing_address")
    return {"person": "legal_rep", **{name: key.data[name] for name in names}, **overrides}


def code_sent_to(db_session, phone: str) -> str:
    message = db_session.scalars(select(SmsMessage).where(SmsMessage.phone == phone, SmsMessage.template == "unlock")
                                 .order_by(SmsMessage.id.desc())).first()
    assert message is not None, f"no unlock code for {phone}"
    return re.search(r"验证码(\d{6})", message.text).group(1)


def unlock_on_the_key(keys, helper: Helper) -> protocol.Task:  # noqa: F811 - the fixture
    """The helper's next poll gets the UNLOCK task; the applicant types the new password into it twice."""
    task = helper.task()
    assert task is not None and task.kind is protocol.TaskKind.UNLOCK and task.unlock.media_serial == helper.key.serial
    unlock = Unlock(unlock_id=task.task_id, media_serial=task.unlock.media_serial, user_pin=NEW_PIN,
                    so_pin=task.unlock.so_pin, current_so_pins=task.unlock.current_so_pins,
                    pin_tries_left=task.unlock.pin_tries_left)
    assert unlocking.run(unlock, keys.station, helper) is Outcome.VERIFIED
    return task


def token_of(db_session, serial: str) -> Token:
    db_session.expire_all()
    return db_session.scalars(select(Token).where(Token.serial == serial)).one()


def test_an_identity_verified_unlock_sets_a_new_password_and_rotates_the_so_pin(client, db_session, keys,  # noqa: F811
                                                                              locked_key, login_as):
    key = locked_key
    public_id, helper = start(client, key)
    page = client.get(f"/unlock/{public_id}").get_data(as_text=True)
    assert 'id="unlock-steps" data-step="1"' in page and "Apply for the unlock" in page
    assert 'id="unlock-form"' in page and 'id="sms-way"' not in page  # the first unlock verifies identity
    assert key.data["org_name"] in page and key.legal_rep_phone not in page  # nothing on file shown

    sent = client.post(f"/unlock/{public_id}?way=identity", data=identity(key))
    assert sent.status_code == 302 and sent.location.endswith(f"/unlock/{public_id}/code")
    code_page = client.get(sent.location).get_data(as_text=True)
    assert "The unlock authorisation code goes to the legal representative's phone" in code_page
    assert f"{key.legal_rep_phone[:3]}****{key.legal_rep_phone[-4:]}" in code_page
    code = code_sent_to(db_session, key.legal_rep_phone)

    wrong = client.post(f"/unlock/{public_id}/code", data={"code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 200 and "The SMS code is wrong." in wrong.get_data(as_text=True)
    done = client.post(f"/unlock/{public_id}/code", data={"code": code})
    assert done.status_code == 302 and done.location.endswith(f"/key/{public_id}")
    helper_session = db_session.scalars(select(HelperSession).where(HelperSession.public_id == public_id)).one()
    order = helper_session.order
    order_id = order.id
    assert helper_session.authorised_by == "identity" and helper_session.authorised_at is not None
    assert (order.business_type, order.status, order.price_cents) == (BusinessType.UNLOCK, OrderStatus.APPROVED, 0)
    assert order.previous_order.number == key.number and order.certificate_id == helper_session.certificate_id
    assert order.organisation.credit_code == key.data["credit_code"] and order.queue is None  # never reviewed
    key_page = client.get(f"/key/{public_id}").get_data(as_text=True)
    assert 'data-step="3"' in key_page

    task = unlock_on_the_key(keys, helper)
    assert task.unlock.current_so_pins == [key.so_pin, task.unlock.so_pin]  # the one on file first
    token = token_of(db_session, key.serial)
    assert (token.state, token.wrong_user_pins, token.wrong_so_pins) == (TokenState.ACTIVE, 0, 0)
    assert token.so_pin == task.unlock.so_pin != key.so_pin
    with pytest.raises(WrongPin):  # the SO PIN of the unlock is spent
        keys.station.check_so_pin(key.serial, key.so_pin)
    keys.station.check_so_pin(key.serial, task.unlock.so_pin)
    with keys.station.user_session(key.serial, NEW_PIN):  # the new key password opens the key
        pass
    with pytest.raises(WrongPin):
        with keys.station.user_session(key.serial, key.old_pin):
            pass

    db_session.expire_all()
    order = db_session.get(Order, order_id)
    assert order.status is OrderStatus.COMPLETED and order.key_work == "helper"
    number = order.number
    assert helper.poll().get_json()["over"] is True  # the session is over: the helper exits
    assert helper.poll().status_code == 401  # and its credential is spent
    assert client.get(f"/key/{public_id}/status").get_json()["next"].endswith(f"/unlock/{public_id}/done")
    final = client.get(f"/unlock/{public_id}/done").get_data(as_text=True)
    assert "Congratulations, the digital certificate is unlocked!" in final and 'data-step="4"' in final
    notices = db_session.scalars(select(SmsMessage).where(SmsMessage.order_id == order_id,
                                                          SmsMessage.template == "key_unlocked_online")).all()
    assert {m.phone for m in notices} == {key.legal_rep_phone, key.agent_phone}
    assert all(NEW_PIN not in m.text and "400" in m.text for m in notices)  # a notice with the service phone
    actions = [e.action for e in db_session.scalars(select(AuditEntry).where(AuditEntry.order_id == order_id))]
    assert "unlock.authorised" in actions and "helper.key_unlocked" in actions

    login_as(StaffRole.REVIEWER)
    console = client.get(f"/console/orders/{number}?lang=en").get_data(as_text=True)
    assert 'id="unlock-panel"' in console and key.number in console
    assert "At the applicant's PC (key helper)" in console
    assert "Identity checked against the certificate's order" in console
    history = client.get(f"/console/orders/{number}/audit").get_data(as_text=True)
    assert f"authorised the unlock of key {key.serial}: identity checked" in history
    assert f"unlocked key {key.serial} at the applicant&#39;s PC" in history


def test_an_identity_that_does_not_match_is_refused_without_saying_what_differed(client, db_session, keys,  # noqa: F811
                                                                                 locked_key):
    key = locked_key
    public_id, _helper = start(client, key)
    other_id = "110105194912310038"  # a valid ID number, not the legal representative's
    for wrong in ({"legal_rep_id_number": other_id}, {"legal_rep_name": "王五"},
                  {"person": "agent", "agent_phone": "13700000000"}):
        page = client.post(f"/unlock/{public_id}?way=identity", data=identity(key, **wrong))
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and "does not match our records" in text
        assert f'value="{list(wrong.values())[-1]}"' in text  # what was typed is kept
    invalid = client.post(f"/unlock/{public_id}?way=identity", data=identity(key, credit_code="123"))
    assert "18 characters" in invalid.get_data(as_text=True)  # validated like the application form
    for _ in range(2):
        client.post(f"/unlock/{public_id}?way=identity", data=identity(key, legal_rep_name="王五"))
    limited = client.post(f"/unlock/{public_id}?way=identity", data=identity(key))  # right, but too late
    assert "Too many attempts for this key" in limited.get_data(as_text=True)
    assert db_session.scalars(select(SmsMessage).where(SmsMessage.template == "unlock")).all() == []
    refused = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "unlock.identity_refused")).all()
    assert len(refused) == 5 and all(e.target == f"token:{key.serial}" for e in refused)


def test_sms_unlock_only_for_a_key_unlocked_by_identity_before_and_its_code_works_once(client, db_session,
                                                                                       keys, locked_key):  # noqa: F811
    key = locked_key
    public_id, helper = start(client, key)
    with client.session_transaction() as browser:  # a browser that claims the SMS way for a new key
        browser["unlock_ways"] = {public_id: {"way": "sms", "person": "agent"}}
    refused = client.post(f"/unlock/{public_id}/code/again", follow_redirects=True)
    assert "This key cannot be unlocked this way now." in refused.get_data(as_text=True)
    assert db_session.scalars(select(SmsMessage).where(SmsMessage.template == "unlock")).all() == []

    client.post(f"/unlock/{public_id}?way=identity", data=identity(key, person="agent"))
    first_code = code_sent_to(db_session, key.agent_phone)
    client.post(f"/unlock/{public_id}/code", data={"code": first_code})
    unlock_on_the_key(keys, helper)

    second_id, second = start(client, key)  # locked again, or the password forgotten: the key is known now
    page = client.get(f"/unlock/{second_id}").get_data(as_text=True)
    assert 'id="send-unlock-code"' in page and 'id="other-way"' in page
    assert f"{key.agent_phone[:3]}****{key.agent_phone[-4:]}" in page and key.agent_phone not in page
    for earlier in db_session.scalars(select(SmsCode).where(SmsCode.phone == key.agent_phone)):
        earlier.created_at -= dt.timedelta(minutes=2)  # a code for the same phone waits a minute
    db_session.commit()
    sent = client.post(f"/unlock/{second_id}")
    assert sent.location.endswith(f"/unlock/{second_id}/code")
    reused = client.post(f"/unlock/{second_id}/code", data={"code": first_code})
    assert "The SMS code" in reused.get_data(as_text=True)  # the first code was used once
    code = code_sent_to(db_session, key.agent_phone)
    assert client.post(f"/unlock/{second_id}/code", data={"code": code}).status_code == 302
    task = unlock_on_the_key(keys, second)
    done = db_session.scalars(select(HelperSession).where(HelperSession.public_id == second_id)).one()
    assert done.authorised_by == "sms" and done.order.status is OrderStatus.COMPLETED
    with keys.station.user_session(key.serial, NEW_PIN):
        pass
    keys.station.check_so_pin(key.serial, task.unlock.so_pin)

    assert client.get(f"/unlock/{second_id}").location.endswith(f"/key/{second_id}")  # nothing more to authorise


def test_the_home_page_and_the_order_query_lead_to_the_online_unlock(client, db_session):
    home = client.get("/c/direct/?lang=en").get_data(as_text=True)
    assert "/c/direct/unlock" in home
