"""Keys sent back after their certificate was revoked, on the back office's side (a fake agent:
no token): the returned keys page refuses what must not be wiped, hands the wipe to the station the
key is plugged in at, and a wiped key is blank again and back on the shelf (once, however often the
agent reports it). The real agent wiping a SoftHSM2 key end to end is in test_programming.py."""
from __future__ import annotations

import uuid

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from fulfillment import stock
from issuance.interfaces import SigningService
from models import (
    AuditEntry,
    Certificate,
    KeyReturn,
    MediaModel,
    ReturnStatus,
    RevocationReason,
    StaffRole,
    Station,
    StockItem,
    Token,
    TokenState,
)
from protocol import station as protocol
from station import credentials
from tests.conftest import add_staff, sign_in
from tests.station.fake_agent import FakeAgent
from tests.station.test_api import blank, serial, start
from web.services import find_service

TRANSPORT_SO_PIN = "12345678"  # the app's STATION_TRANSPORT_SO_PIN
RETURNS = "/console/station/returns?lang=en"  # the messages are asserted in English


def revoke(station_app, committed, key: str) -> str:
    """The certificate on `key` revoked by two officers (as the console's dual control does): its serial."""
    number = committed(lambda s: s.scalars(select(Certificate.serial_number).where(
        Certificate.media_serial == key)).one())
    with station_app.app_context():
        find_service(SigningService).revoke(number, RevocationReason.KEY_COMPROMISE, requested_by="staff:st-senior",
                                            confirmed_by="staff:st-admin")
    return number


def token(committed, key: str) -> dict:
    def read(session):
        t = session.scalars(select(Token).where(Token.serial == key)).one()
        return {"state": t.state, "order": t.order_id, "so_pin": t.so_pin, "resets": t.resets,
                "wrong_so_pins": t.wrong_so_pins, "wrong_user_pins": t.wrong_user_pins}
    return committed(read)


def on_hand(committed, model_id: int) -> int:
    return committed(lambda s: stock.on_hand(s, StockItem.KEY, s.get(MediaModel, model_id)))


def audited(committed, action: str, key: str) -> int:
    return committed(lambda s: s.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.target == f"token:{key}")))


@pytest.fixture
def shelf_model(committed) -> int:
    return committed(lambda s: s.scalars(select(MediaModel.id).where(MediaModel.active.is_(True))
                                         .order_by(MediaModel.id)).first())


@pytest.fixture
def programmed(client, committed, fulfillment, approved, station_credential, shelf_model):
    """programmed(from_shelf=True) -> (key, agent, job): a key programmed by the fake agent at the test's
    station (received on the shelf first, unless it is the applicant's own), still plugged in there."""
    def make(from_shelf: bool = True):
        name, credential = station_credential
        key = serial()
        if from_shelf:
            committed(lambda s: stock.receive_keys(s, s.get(MediaModel, shelf_model), [key], "staff:test"))
        agent = FakeAgent(client, credential, [blank(key)])
        agent.poll()
        start(client, committed, name, approved(), key)
        job = agent.job()
        assert agent.run(job).status_code == 200
        return key, agent, job
    return make


def wipe_of(agent: FakeAgent) -> protocol.Wipe | None:
    answer = agent.poll()
    assert answer.status_code == 200, answer.get_data(as_text=True)
    polled = protocol.poll_answer_from_json(answer.get_json())
    assert polled.job is None or polled.wipe is None
    return polled.wipe


def test_a_revoked_key_sent_back_is_wiped_and_back_on_the_shelf_once(station_app, client, committed, programmed,
                                                                     shelf_model):
    key, agent, job = programmed()
    shelf_before = on_hand(committed, shelf_model)
    revoke(station_app, committed, key)
    committed(lambda s: s.scalars(select(Token).where(Token.serial == key)).one().move_to(
        TokenState.REVOKED, "staff:test"))  # as the revocation's effects do

    response = client.post(RETURNS, data={"serial": f"  {key} "}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "then it goes back on the shelf" in page
    assert audited(committed, "key_return.received", key) == 1

    wipe = wipe_of(agent)
    assert wipe.media_serial == key and wipe.transport_so_pin == TRANSPORT_SO_PIN
    assert wipe.current_so_pins == [job.so_pin, TRANSPORT_SO_PIN]  # the key's own first
    assert wipe.pin_tries_left == 9
    assert token(committed, key)["state"] is TokenState.REVOKED  # nothing changes before the agent says so

    done = agent.post(f"/wipes/{wipe.wipe_id}/done", {"wrong_pins": []})
    assert done.status_code == 200 and done.get_json() == {"ok": True}
    after = token(committed, key)
    assert after["state"] is TokenState.BLANK and after["order"] is None and after["so_pin"] is None
    assert after["resets"] == 2  # programming's C_InitToken, then the wipe's
    assert on_hand(committed, shelf_model) == shelf_before + 1

    again = agent.post(f"/wipes/{wipe.wipe_id}/done", {"wrong_pins": [{"pin": "so"}]})  # a repeated report
    assert again.status_code == 200
    assert token(committed, key) == after and on_hand(committed, shelf_model) == shelf_before + 1
    assert audited(committed, "key_return.wiped", key) == 1 and audited(committed, "stock.returned", key) == 1

    row = client.get(RETURNS).get_data(as_text=True)
    assert "Back on the shelf" in row and f'id="return-{key}" data-status="done"' in row


def test_a_key_whose_certificate_was_revoked_in_the_console_is_taken_back(station_app, client, committed,
                                                                          programmed):
    key, agent, _job = programmed()
    revoke(station_app, committed, key)
    assert token(committed, key)["state"] is TokenState.PROGRAMMED  # the console revokes certificates only
    assert client.post(RETURNS, data={"serial": key}).status_code == 302
    assert token(committed, key)["state"] is TokenState.REVOKED
    wipe = wipe_of(agent)
    assert agent.post(f"/wipes/{wipe.wipe_id}/done", {}).status_code == 200
    assert token(committed, key)["state"] is TokenState.BLANK


def test_the_applicants_own_key_is_wiped_and_kept_for_them(station_app, client, committed, programmed, shelf_model):
    key, agent, _job = programmed(from_shelf=False)
    revoke(station_app, committed, key)
    shelf_before = on_hand(committed, shelf_model)
    page = client.post(RETURNS, data={"serial": key}, follow_redirects=True).get_data(as_text=True)
    assert "It is the applicant&#39;s own key" in page or "It is the applicant's own key" in page
    wipe = wipe_of(agent)
    assert agent.post(f"/wipes/{wipe.wipe_id}/done", {}).status_code == 200
    assert token(committed, key)["state"] is TokenState.BLANK
    assert on_hand(committed, shelf_model) == shelf_before  # not the shelf's
    assert audited(committed, "stock.returned", key) == 0
    page = client.get(RETURNS).get_data(as_text=True)
    assert "own key: keep it for the applicant to pick up, or send it back to them" in page


def _refused(client, typed: str) -> str:
    response = client.post(RETURNS, data={"serial": typed})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'value="{escape(typed.strip())}"' in page  # what was typed is kept
    return page


def test_an_unknown_serial_is_refused(client, fulfillment):
    unknown = serial()
    assert str(escape(f"No key with the media no. {unknown} is known to the CA.")) in _refused(client, unknown)
    assert "Not a key serial" in _refused(client, "no such/key")


def test_a_key_whose_certificate_is_still_valid_is_refused(station_app, client, committed, programmed):
    key, agent, _job = programmed()
    number = committed(lambda s: s.scalars(select(Certificate.serial_number).where(
        Certificate.media_serial == key)).one())
    page = _refused(client, key)
    assert f"Certificate {number} on key {key} is not revoked: revoke it first" in page
    assert token(committed, key)["state"] is TokenState.PROGRAMMED and wipe_of(agent) is None
    assert audited(committed, "key_return.received", key) == 0


def test_a_blank_key_is_refused(client, committed, station_credential, fulfillment, shelf_model):
    key = serial()
    committed(lambda s: stock.receive_keys(s, s.get(MediaModel, shelf_model), [key], "staff:test"))
    assert f"Key {key} is not revoked" in _refused(client, key)


def test_a_key_not_plugged_in_is_refused(station_app, client, committed, programmed):
    key, agent, _job = programmed()
    revoke(station_app, committed, key)
    agent.tokens = []
    agent.poll()  # the key was pulled out
    assert f"Key {key} is not plugged in at any station" in _refused(client, key)
    assert audited(committed, "key_return.received", key) == 0
    assert token(committed, key)["state"] is TokenState.PROGRAMMED  # nothing changed


def test_a_failed_wipe_leaves_the_key_revoked_with_its_error_and_is_tried_again(station_app, client, committed,
                                                                               programmed, shelf_model):
    key, agent, _job = programmed()
    revoke(station_app, committed, key)
    shelf_before = on_hand(committed, shelf_model)
    client.post(RETURNS, data={"serial": key})
    wipe = wipe_of(agent)
    failure = agent.post(f"/wipes/{wipe.wipe_id}/failure", {
        "error": "so_pin_unknown", "message": "none of the 2 SO PINs on file opens the key",
        "wrong_pins": [{"pin": "so"}, {"pin": "so"}]})
    assert failure.status_code == 200
    state = token(committed, key)
    assert state["state"] is TokenState.REVOKED and state["wrong_so_pins"] == 2
    page = client.get(RETURNS).get_data(as_text=True)
    assert "The wipe failed" in page and "none of the 2 SO PINs on file opens the key" in page
    assert f'id="return-{key}" data-status="failed"' in page

    assert client.post(RETURNS, data={"serial": key}).status_code == 302  # "Try again"
    retry = wipe_of(agent)
    assert retry.wipe_id == wipe.wipe_id and retry.pin_tries_left == 7  # the wrong tries count
    assert agent.post(f"/wipes/{wipe.wipe_id}/done", {}).status_code == 200
    assert token(committed, key)["state"] is TokenState.BLANK
    assert on_hand(committed, shelf_model) == shelf_before + 1
    attempt = select(KeyReturn.attempt).where(KeyReturn.public_id == wipe.wipe_id)
    assert committed(lambda s: s.scalars(attempt).one()) == 2


def test_a_wipe_cut_off_by_an_agent_restart_fails_and_a_key_being_wiped_is_not_asked_twice(
        station_app, client, committed, programmed):
    key, agent, _job = programmed()
    revoke(station_app, committed, key)
    client.post(RETURNS, data={"serial": key})
    wipe = wipe_of(agent)
    page = _refused(client, key)
    assert "is being wiped at station" in page
    assert wipe_of(agent) is None  # the agent came back without finishing it
    status = committed(lambda s: s.scalars(select(KeyReturn.status).where(KeyReturn.public_id == wipe.wipe_id)).one())
    assert status is ReturnStatus.FAILED
    assert "The station agent stopped while wiping the key" in client.get(RETURNS).get_data(as_text=True)
    late = agent.post(f"/wipes/{wipe.wipe_id}/done", {})  # too late: it is not running any more
    assert late.status_code == 200 and token(committed, key)["state"] is TokenState.REVOKED


def another_station(committed) -> str:
    """The credential of a second station."""
    def work(session):
        station = Station(name=f"st-{uuid.uuid4().hex[:6]}")
        session.add(station)
        session.flush()
        return credentials.issue(session, station, add_staff(session, StaffRole.ADMIN))
    return committed(work)


def test_another_stations_agent_cannot_report_the_wipe(station_app, client, committed, programmed):
    key, agent, _job = programmed()
    revoke(station_app, committed, key)
    client.post(RETURNS, data={"serial": key})
    wipe = wipe_of(agent)
    other = FakeAgent(client, another_station(committed))
    assert other.post(f"/wipes/{wipe.wipe_id}/done", {}).status_code == 409
    assert other.post(f"/wipes/{wipe.wipe_id}/failure", {"error": "token_error", "message": "x"}).status_code == 409
    assert token(committed, key)["state"] is TokenState.REVOKED


@pytest.mark.parametrize("role", [StaffRole.REVIEWER, StaffRole.FINANCE])
def test_only_fulfillment_and_admin_receive_keys(station_app, committed, role):
    client = station_app.test_client()
    staff = committed(lambda session: add_staff(session, role))
    sign_in(client, staff)
    assert client.get(RETURNS).status_code == 403
    assert client.post(RETURNS, data={"serial": "ABC"}).status_code == 403


def test_the_form_needs_its_csrf_token(station_app, client, fulfillment, monkeypatch):
    monkeypatch.setitem(station_app.config, "WTF_CSRF_ENABLED", True)  # after signing in
    assert 'name="csrf_token"' in client.get(RETURNS).get_data(as_text=True)
    assert client.post(RETURNS, data={"serial": uuid.uuid4().hex[:8]}).status_code == 400
