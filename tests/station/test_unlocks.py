"""Keys locked by wrong user PINs and mailed in, on the back office's side (a fake agent: no token):
the locked keys page refuses what must not be unlocked, hands the unlock to the station the key is
plugged in at, and an unlocked key has a new SO PIN on file (sealed), its counters back to 0, and
its new key password on its way to the legal representative by SMS, once, however often the agent
reports it. The real agent unlocking a SoftHSM2 key is in tests/agent/test_unlocking.py."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text

from models import Order, Person, SmsMessage, StaffRole, Station, Token, TokenState
from protocol import station as protocol
from station import credentials
from tests.conftest import add_staff, sign_in
from tests.personal_orders import approved_personal_order
from tests.station.fake_agent import FakeAgent
from tests.station.test_api import blank, serial, start
from tests.station.test_returns import audited, revoke, token

UNLOCKS = "/console/station/unlocks?lang=en"  # the messages are asserted in English
PIN_LIMIT = 10  # the app's STATION_PIN_LIMIT


@pytest.fixture
def locked_key(client, committed, fulfillment, approved, station_credential):
    """locked_key(number=None) -> (key, agent, job): a key programmed by the fake agent for the approved order
    (a new unit order without one), in the applicant's hands
    until they typed its password wrong up to the lock, mailed in and plugged in at the test's station."""
    def make(number: str | None = None):
        name, credential = station_credential
        key = serial()
        agent = FakeAgent(client, credential, [blank(key)])
        agent.poll()
        start(client, committed, name, number or approved(), key)
        job = agent.job()
        assert agent.run(job).status_code == 200

        def in_use(session):
            t = session.scalars(select(Token).where(Token.serial == key)).one()
            t.move_to(TokenState.SHIPPED, "staff:test")
            t.move_to(TokenState.ACTIVE, "staff:test")
            t.wrong_user_pins = PIN_LIMIT  # as the key helper would count them; the station cannot know
        committed(in_use)
        agent.tokens = [{**blank(key), "blank": False, "label": job.order_number}]
        agent.poll()
        return key, agent, job
    return make


def unlock_of(agent: FakeAgent) -> protocol.Unlock | None:
    answer = agent.poll()
    assert answer.status_code == 200, answer.get_data(as_text=True)
    polled = protocol.poll_answer_from_json(answer.get_json())
    assert polled.job is None and polled.wipe is None
    return polled.unlock


def sms_of(committed, key: str) -> list[dict]:
    def read(session):
        t = session.scalars(select(Token).where(Token.serial == key)).one()
        return [{"phone": m.phone, "secret": m.carries_secret, "body": m.body, "sealed": m.sealed_body,
                 "template": m.template, "holder_phone": session.get(Order, t.order_id).agent.phone,
                 "legal_rep_phone": (session.get(Order, t.order_id).legal_rep or Person()).phone}
                for m in session.scalars(select(SmsMessage).where(SmsMessage.order_id == t.order_id,
                                                                  SmsMessage.template == "key_unlocked"))]
    return committed(read)


def refused(client, key: str, message: str) -> None:
    response = client.post(UNLOCKS, data={"serial": key})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page, page
    assert f'value="{key}"' in page  # what was typed is kept


def test_a_locked_key_mailed_in_is_unlocked_with_new_pins_sent_to_the_legal_rep_once(client, committed,
                                                                                   locked_key):
    key, agent, job = locked_key()
    response = client.post(UNLOCKS, data={"serial": f" {key} "}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and f"Key {key} received: station" in page and "unlocks it now" in page
    assert token(committed, key)["state"] is TokenState.LOCKED
    assert audited(committed, "key_unlock.received", key) == 1

    unlock = unlock_of(agent)
    assert unlock.media_serial == key and unlock.current_so_pins == [job.so_pin, unlock.so_pin]
    assert unlock.pin_tries_left == PIN_LIMIT - 1  # the user PIN's count is not the SO PIN's
    assert len(unlock.user_pin) == 8 and unlock.user_pin.isdigit() and unlock.user_pin != job.user_pin
    assert len(unlock.so_pin) == 8 and unlock.so_pin.isdigit() and unlock.so_pin != job.so_pin
    assert token(committed, key)["so_pin"] == job.so_pin  # nothing changes before the agent says so

    done = agent.post(f"/unlocks/{unlock.unlock_id}/done", {"wrong_pins": []})
    assert done.status_code == 200 and done.get_json() == {"ok": True}
    after = token(committed, key)
    assert after["state"] is TokenState.ACTIVE and after["so_pin"] == unlock.so_pin  # the old one forgotten
    assert after["wrong_user_pins"] == after["wrong_so_pins"] == 0
    [sms] = sms_of(committed, key)
    assert sms["phone"] == sms["legal_rep_phone"] and sms["secret"] and sms["body"] is None
    assert unlock.user_pin in sms["sealed"]
    raw = committed(lambda s: bytes(s.execute(text("SELECT so_pin FROM token WHERE serial = :serial"),
                                              {"serial": key}).scalar()))
    assert unlock.so_pin.encode() not in raw  # kept sealed

    page = client.get(UNLOCKS).get_data(as_text=True)
    assert "Unlocked: mail the key back to the applicant." in page and unlock.user_pin not in page

    again = agent.post(f"/unlocks/{unlock.unlock_id}/done", {"wrong_pins": [{"pin": "so"}]})
    assert again.status_code == 200
    assert len(sms_of(committed, key)) == 1 and audited(committed, "key_unlock.unlocked", key) == 1
    assert token(committed, key)["wrong_so_pins"] == 0  # a repeated report changes nothing
    assert unlock_of(agent) is None


def test_a_personal_key_mailed_in_is_unlocked_with_the_new_pin_sent_to_its_holder(station_app, client, committed,
                                                                                   locked_key):
    number = committed(lambda s: approved_personal_order(s, station_app.config["UPLOAD_FOLDER"]).number)
    key, agent, _job = locked_key(number)
    assert client.post(UNLOCKS, data={"serial": key}).status_code == 302
    unlock = unlock_of(agent)
    assert agent.post(f"/unlocks/{unlock.unlock_id}/done", {"wrong_pins": []}).status_code == 200
    assert token(committed, key)["state"] is TokenState.ACTIVE
    [sms] = sms_of(committed, key)  # a personal certificate has no legal representative: its holder is told
    assert sms["legal_rep_phone"] is None and sms["phone"] == sms["holder_phone"] and unlock.user_pin in sms["sealed"]


def test_a_failed_unlock_is_shown_and_tried_again_with_the_same_new_pins(client, committed, locked_key):
    key, agent, _job = locked_key()
    client.post(UNLOCKS, data={"serial": key})
    first = unlock_of(agent)
    failure = agent.post(f"/unlocks/{first.unlock_id}/failure", {
        "error": "token_pulled", "message": "The key was pulled out.", "wrong_pins": [{"pin": "so"}]})
    assert failure.status_code == 200
    page = client.get(UNLOCKS).get_data(as_text=True)
    assert "The unlock failed: the key stays locked." in page and "The key was pulled out." in page
    assert token(committed, key)["state"] is TokenState.LOCKED and token(committed, key)["wrong_so_pins"] == 1
    assert sms_of(committed, key) == [] and audited(committed, "key_unlock.failed", key) == 1

    page = client.post(UNLOCKS, data={"serial": key}, follow_redirects=True).get_data(as_text=True)
    assert "attempt 2" in page
    second = unlock_of(agent)
    assert second.unlock_id == first.unlock_id and second.pin_tries_left == PIN_LIMIT - 2
    assert (second.user_pin, second.so_pin) == (first.user_pin, first.so_pin)
    assert agent.post(f"/unlocks/{second.unlock_id}/done", {"wrong_pins": []}).status_code == 200
    assert token(committed, key)["state"] is TokenState.ACTIVE
    [sms] = sms_of(committed, key)
    assert first.user_pin in sms["sealed"]


def test_an_unlock_cut_off_by_an_agent_restart_fails_and_a_key_being_unlocked_is_not_asked_twice(
        client, committed, locked_key):
    key, agent, _job = locked_key()
    client.post(UNLOCKS, data={"serial": key})
    unlock_of(agent)
    refused(client, key, "is being unlocked at station")
    agent.poll()  # the agent restarted: it names no running work
    assert "The station agent stopped while unlocking the key" in client.get(UNLOCKS).get_data(as_text=True)


def test_an_unknown_or_malformed_serial_is_refused(client, fulfillment):
    refused(client, "NOSUCHKEY" + uuid.uuid4().hex[:6].upper(), "is known to the CA")
    refused(client, "a b", "Not a key serial")


def test_a_key_whose_certificate_is_revoked_is_refused(station_app, client, committed, locked_key):
    key, _agent, _job = locked_key()
    revoke(station_app, committed, key)
    refused(client, key, "holds no valid certificate")


def test_a_key_without_an_so_pin_on_file_is_refused(client, committed, locked_key):
    key, _agent, _job = locked_key()
    committed(lambda s: setattr(s.scalars(select(Token).where(Token.serial == key)).one(), "so_pin", None))
    refused(client, key, "The CA holds no SO PIN for key")


def test_a_key_not_in_use_is_refused(client, committed, locked_key):
    key, _agent, _job = locked_key()
    committed(lambda s: s.scalars(select(Token).where(Token.serial == key)).one().move_to(
        TokenState.LOST, "staff:test"))
    refused(client, key, "is not with an applicant")


def test_a_key_not_plugged_in_is_refused(client, committed, locked_key):
    key, agent, _job = locked_key()
    agent.tokens = []
    agent.poll()
    refused(client, key, "is not plugged in at any station")
    assert audited(committed, "key_unlock.received", key) == 0
    assert token(committed, key)["state"] is TokenState.ACTIVE  # not marked locked either


def test_another_stations_agent_cannot_report_the_unlock(client, committed, locked_key):
    key, agent, _job = locked_key()
    client.post(UNLOCKS, data={"serial": key})
    unlock = unlock_of(agent)

    def other(session):
        station = Station(name=f"st-{uuid.uuid4().hex[:6]}")
        session.add(station)
        session.flush()
        return credentials.issue(session, station, add_staff(session, StaffRole.ADMIN))
    intruder = FakeAgent(client, committed(other))
    assert intruder.post(f"/unlocks/{unlock.unlock_id}/done", {}).status_code == 409
    assert token(committed, key)["state"] is TokenState.LOCKED


@pytest.mark.parametrize("role", [StaffRole.REVIEWER, StaffRole.FINANCE])
def test_only_fulfillment_and_admin_unlock_keys(station_app, committed, role):
    client = station_app.test_client()
    staff = committed(lambda session: add_staff(session, role))
    sign_in(client, staff)
    assert client.get(UNLOCKS).status_code == 403
    assert client.post(UNLOCKS, data={"serial": "ABC"}).status_code == 403


def test_the_form_needs_its_csrf_token(station_app, client, fulfillment, monkeypatch):
    monkeypatch.setitem(station_app.config, "WTF_CSRF_ENABLED", True)  # after signing in
    assert 'name="csrf_token"' in client.get(UNLOCKS).get_data(as_text=True)
    assert client.post(UNLOCKS, data={"serial": uuid.uuid4().hex[:8]}).status_code == 400
