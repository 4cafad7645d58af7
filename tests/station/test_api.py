"""The back office's side of the station: claiming and starting jobs in the pages, an agent's poll,
steps, certificate and finish over the agents' API (a fake agent: keys in memory), resume and wipe."""
from __future__ import annotations

import re
import uuid

import pytest
from cryptography import x509
from sqlalchemy import select

from models import (
    Certificate,
    CertificateStatus,
    Crl,
    JobStatus,
    OrderStatus,
    ProgrammingJob,
    StaffRole,
    Station,
    Token,
    TokenState,
)
from protocol import station as protocol
from station import jobs
from tests.conftest import add_staff, sign_in
from tests.station.conftest import order_of
from tests.station.fake_agent import FakeAgent
from web.errors import UserError


@pytest.fixture
def plugged(client, station_credential):
    """(station name, key serial, fake agent): a blank key plugged in at the test's station, seen by its agent."""
    name, credential = station_credential
    key = serial()
    agent = FakeAgent(client, credential, [blank(key)])
    agent.poll()
    return name, key, agent


def serial() -> str:
    return uuid.uuid4().hex[:16].upper()


def start(client, committed, station_name: str, number: str, token_serial: str, batch: bool = False):
    """Claim `number` and start it on the station with the key `token_serial`: the job's public id."""
    response = client.post(f"/console/station/orders/{number}/claim")
    assert response.status_code == 302, response.get_data(as_text=True)
    public_id = response.headers["Location"].rsplit("/", 1)[-1]
    station_id = committed(lambda s: s.scalars(select(Station.id).where(Station.name == station_name)).one())
    data = {"station": station_id, "serial": token_serial}
    if batch:
        data["batch"] = "y"
    client.post(f"/console/station/jobs/{public_id}/start", data=data)
    return public_id


def blank(token_serial: str) -> dict:
    return {"serial": token_serial, "label": "", "model": "SoftHSM v2", "blank": True}


def test_an_approved_order_becomes_a_programmed_key(client, committed, fulfillment, approved, station_credential):
    number = approved()
    name, credential = station_credential
    key = serial()
    agent = FakeAgent(client, credential, [blank(key)])
    agent.poll()  # the station reports the key plugged in
    page = client.get("/console/station/")
    assert number in page.get_data(as_text=True)
    public_id = start(client, committed, name, number, key)
    job = agent.job()
    assert job.job_id == public_id and job.media_serial == key and job.order_number == number
    assert job.current_so_pins == ["12345678"] and not job.resume and job.pin_tries_left == 9
    assert job.subject[0] == ["2.5.4.6", "CN"] and job.user_pin.startswith("Pw")
    assert agent.run(job).status_code == 200

    def check(session):
        order = order_of(session, number)
        assert order.status is OrderStatus.PROGRAMMED
        token = session.scalars(select(Token).where(Token.serial == key)).one()
        assert token.state is TokenState.PROGRAMMED and token.order_id == order.id
        assert token.resets == 1 and token.enrolments == 1 and token.so_pin == job.so_pin
        certificate = session.scalars(select(Certificate).where(Certificate.order_id == order.id)).one()
        assert certificate.media_serial == key and certificate.status is CertificateStatus.VALID
        done = session.scalars(select(ProgrammingJob).where(ProgrammingJob.public_id == public_id)).one()
        assert done.status is JobStatus.DONE and done.step == "verified"
    committed(check)
    text = client.get(f"/console/station/jobs/{public_id}").get_data(as_text=True)
    assert "Programmed and verified" in text or "已写入并验证" in text or "verified" in text


def test_a_revoked_or_rotated_credential_is_refused(client, committed, station_credential):
    name, credential = station_credential
    assert FakeAgent(client, credential).poll().status_code == 200
    assert FakeAgent(client, credential + "x").poll().status_code == 401
    assert FakeAgent(client, "st1.1.nothing").poll().status_code == 401

    def revoke(session):
        from station import credentials
        station = session.scalars(select(Station).where(Station.name == name)).one()
        admin = add_staff(session, StaffRole.ADMIN)
        return credentials.issue(session, station, admin)
    rotated = committed(revoke)
    assert FakeAgent(client, credential).poll().status_code == 401
    assert FakeAgent(client, rotated).poll().status_code == 200


def test_a_key_of_another_order_is_refused(client, committed, fulfillment, approved, plugged):
    name, key, agent = plugged
    first = start(client, committed, name, approved(), key)
    assert agent.run(agent.job()).status_code == 200
    number = approved()
    second = start(client, committed, name, number, key)
    page = client.get(f"/console/station/jobs/{second}").get_data(as_text=True)
    assert first and f'value="{key}"' not in page  # not offered
    assert committed(lambda s: s.scalars(select(ProgrammingJob.status).where(
        ProgrammingJob.public_id == second)).one()) is JobStatus.CLAIMED

    def start_anyway(session):  # as a forged form would
        job = session.scalars(select(ProgrammingJob).where(ProgrammingJob.public_id == second)).one()
        station = session.scalars(select(Station).where(Station.name == name)).one()
        with pytest.raises(UserError) as refused:
            jobs.start(session, job, station, key, job.claimed_by)
        return refused.value
    refused = committed(start_anyway)
    assert str(refused) == f"Key {key} belongs to order {committed(lambda s: _first_order(s, first))}."
    assert agent.job() is None


def _first_order(session, public_id: str) -> str:
    return session.scalars(select(ProgrammingJob).where(ProgrammingJob.public_id == public_id)).one().order.number


def test_a_cut_off_job_is_interrupted_and_resumed_with_its_certificate(client, committed, fulfillment, approved,
                                                                        plugged):
    name, key, agent = plugged
    public_id = start(client, committed, name, approved(), key)
    job = agent.job()
    assert agent.step(job, protocol.Step.DETECTED).status_code == 200
    issued = agent.certificate(job)
    assert issued.status_code == 200
    agent.poll(running_job=None)  # the agent restarted: it runs nothing
    assert committed(lambda s: s.scalars(select(ProgrammingJob).where(
        ProgrammingJob.public_id == public_id)).one().status) is JobStatus.INTERRUPTED
    assert agent.step(job, protocol.Step.CERTIFICATE_WRITTEN).status_code == 409  # not running any more
    assert client.post(f"/console/station/jobs/{public_id}/resume").status_code == 302
    again = agent.job()
    assert again.resume and again.certificate_pem == issued.get_json()["certificate_pem"]
    assert again.current_so_pins[0] == job.so_pin
    # the same key asks again: the same certificate, no second one
    assert agent.certificate(again).get_json()["certificate_pem"] == again.certificate_pem
    assert agent.finish(again, again.certificate_pem).status_code == 200


def test_a_job_taken_by_an_agent_that_never_reported_goes_back_to_the_queue(
        client, committed, fulfillment, approved, plugged):
    """A dead agent's poll, still waiting in the server, may take a job: the next agent gets it."""
    name, key, agent = plugged
    public_id = start(client, committed, name, approved(), key)
    assert agent.job().job_id == public_id  # taken, and nothing reported: the agent is gone
    again = agent.job()  # the next agent's poll
    assert again.job_id == public_id and again.resume


def test_a_certificate_whose_key_was_lost_is_revoked_before_another_is_issued(
        client, committed, fulfillment, approved, plugged):
    name, key, agent = plugged
    number = approved()
    start(client, committed, name, number, key)
    job = agent.job()
    first = agent.certificate(job).get_json()["certificate_pem"]
    agent.key = None  # the key pair is gone: a new one asks
    second = agent.certificate(job)
    assert second.status_code == 200 and second.get_json()["certificate_pem"] != first
    assert agent.finish(job, second.get_json()["certificate_pem"]).status_code == 200
    _only_one_valid_and_the_other_on_the_crl(committed, number, first)


def test_wipe_revokes_the_attempts_certificate_first(client, committed, fulfillment, approved, plugged):
    name, key, agent = plugged
    number = approved()
    public_id = start(client, committed, name, number, key)
    job = agent.job()
    first = agent.certificate(job).get_json()["certificate_pem"]
    agent.post(f"/jobs/{job.job_id}/failure",
               {"error": "token_pulled", "message": "gone", "step": "certificate_written"})
    response = client.post(f"/console/station/jobs/{public_id}/wipe", follow_redirects=True)
    assert response.status_code == 200
    redo = agent.job()
    assert redo.wipe and redo.certificate_pem is None
    agent.key = None
    assert agent.run(redo).status_code == 200
    _only_one_valid_and_the_other_on_the_crl(committed, number, first)


def _only_one_valid_and_the_other_on_the_crl(committed, number: str, first_pem: str) -> None:
    serial_number = x509.load_pem_x509_certificate(first_pem.encode()).serial_number

    def check(session):
        order = order_of(session, number)
        rows = session.scalars(select(Certificate).where(Certificate.order_id == order.id)).all()
        assert sorted(c.status.value for c in rows) == ["revoked", "valid"]
        revoked = next(c for c in rows if c.status is CertificateStatus.REVOKED)
        assert int(revoked.serial_number, 16) == serial_number and revoked.revocation_reason == 4
        newest = session.scalars(select(Crl).order_by(Crl.id.desc())).first()
        crl = x509.load_der_x509_crl(newest.der)
        assert crl.get_revoked_certificate_by_serial_number(serial_number) is not None
    committed(check)


def test_a_wrong_signature_does_not_finish(client, committed, fulfillment, approved, plugged):
    name, key, agent = plugged
    public_id = start(client, committed, name, approved(), key)
    job = agent.job()
    pem = agent.certificate(job).get_json()["certificate_pem"]
    refused = agent.finish(job, pem, signature=agent.signature(b"something else"))
    assert refused.status_code == 422 and refused.get_json()["error"] == "verification_failed"
    assert committed(lambda s: s.scalars(select(ProgrammingJob).where(
        ProgrammingJob.public_id == public_id)).one().status) is JobStatus.INTERRUPTED


def test_malformed_bodies_are_refused_clearly(client, station_credential):
    _, credential = station_credential
    agent = FakeAgent(client, credential)
    for body in ({"tokens": "x"}, {"tokens": [{"serial": 5}]}, {"tokens": [], "wait": "soon"},
                 {"tokens": [{"serial": "a\x00b", "label": "", "model": ""}]}):
        response = agent.post("/poll", body)
        assert response.status_code == 400 and response.get_json()["error"] == "malformed", body
    assert agent.post("/jobs/JNOPE/steps", {"reports": [{"step": "detected"}]}).status_code == 409
    assert agent.post("/jobs/JNOPE/steps", {"reports": [{"step": "dancing"}]}).status_code == 400
    assert agent.post("/jobs/JNOPE/steps", {"reports": [{"step": "detected"}] * 33}).status_code == 400


def test_batch_mode_starts_the_next_job_with_the_next_blank_key(client, committed, fulfillment, approved,
                                                               station_credential):
    name, credential = station_credential
    keys = [serial(), serial()]
    agent = FakeAgent(client, credential, [blank(k) for k in keys])
    agent.poll()
    approved(), approved()
    response = client.post("/console/station/next")
    public_id = response.headers["Location"].rsplit("/", 1)[-1]
    station_id = committed(lambda s: s.scalars(select(Station.id).where(Station.name == name)).one())
    client.post(f"/console/station/jobs/{public_id}/start",
                data={"station": station_id, "serial": keys[0], "batch": "y"})
    first = agent.job()
    assert agent.run(first).get_json()["next_job"]
    progress = client.get(f"/console/station/jobs/{public_id}/progress").get_json()
    assert progress["status"] == "done" and progress["next_url"]
    second = agent.job()
    assert second.media_serial == keys[1] and re.fullmatch(r"J[0-9A-F]{10}", second.job_id)


def test_every_agent_route_needs_a_live_station_credential(station_app, client, committed, fulfillment,
                                                            station_credential):
    """The agents' API beside the role table (tests/test_staff_routes.py): a staff session is no
    credential, and a revoked one gets 401 on every route."""
    name, credential = station_credential

    def revoke(session):
        from station import credentials
        credentials.revoke(session, session.scalars(select(Station).where(Station.name == name)).one(),
                           add_staff(session, StaffRole.ADMIN))
    committed(revoke)
    rules = [rule for rule in station_app.url_map.iter_rules() if rule.rule.startswith(protocol.API)]
    assert len(rules) == 9  # poll, a job's steps, certificate, finish, failure; a wipe's and an unlock's done, failure
    for rule in rules:
        url = rule.rule.replace("<public_id>", "J0000000000")
        for headers in ({}, {"Authorization": f"Bearer {credential}"}, {"Authorization": "Basic eDp5"}):
            response = client.post(url, json={"tokens": []}, headers=headers)  # signed in as fulfillment
            assert response.status_code == 401 and response.get_json()["error"] == "unauthenticated", (url, headers)


def test_one_claim_wins(client, committed, approved, station_app):
    number = approved()
    staff = [committed(lambda session: add_staff(session, StaffRole.FULFILLMENT)) for _ in range(2)]

    def claim(session, member):
        order = order_of(session, number)
        return jobs.claim(session, order, session.get(type(member), member.id)).public_id
    first = committed(lambda session: claim(session, staff[0]))
    assert committed(lambda session: claim(session, staff[0])) == first  # the holder opens it again
    with pytest.raises(UserError, match="Already claimed by"):
        committed(lambda session: claim(session, staff[1]))
    assert committed(lambda session: session.scalars(select(ProgrammingJob).where(
        ProgrammingJob.order_id == order_of(session, number).id)).all()).__len__() == 1


def test_wrong_pins_the_agent_drove_are_counted_on_the_key(client, committed, fulfillment, approved,
                                                          plugged):
    name, key, agent = plugged
    public_id = start(client, committed, name, approved(), key)
    job = agent.job()
    assert job.pin_tries_left == 9
    agent.step(job, protocol.Step.DETECTED, wrong_pins=[{"pin": "so"}, {"pin": "so"}, {"pin": "user"}])
    token = committed(lambda s: s.scalars(select(Token).where(Token.serial == key)).one())
    assert (token.wrong_so_pins, token.wrong_user_pins) == (2, 1)
    agent.post(f"/jobs/{job.job_id}/failure", {"error": "pin_locked", "message": "", "step": "token_initialised",
                                               "wrong_pins": [{"pin": "so"}]})
    assert client.post(f"/console/station/jobs/{public_id}/resume").status_code == 302
    assert agent.job().pin_tries_left == 6  # 10 - 1 - the 3 wrong SO PINs: never the 10th
    text = client.get("/console/station/keys").get_data(as_text=True)
    assert key in text and "1 / 3" in text


def test_admin_issues_rotates_and_revokes_a_station_credential(station_app, committed):
    admin = committed(lambda session: add_staff(session, StaffRole.ADMIN))
    client = station_app.test_client()
    assert sign_in(client, admin).status_code == 302
    name = f"desk-{uuid.uuid4().hex[:4]}"
    page = client.post("/console/station/stations/new", data={"name": name})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    first = re.search(r'id="credential-value">(st1\.[^<]+)<', page.get_data(as_text=True)).group(1)
    assert FakeAgent(client, first).poll().status_code == 200
    assert client.post("/console/station/stations/new", data={"name": name}).status_code == 422  # taken
    assert client.post("/console/station/stations/new", data={"name": "a b/c"}).status_code == 422
    station_id = committed(lambda s: s.scalars(select(Station.id).where(Station.name == name)).one())
    page = client.post(f"/console/station/stations/{station_id}/credential")
    second = re.search(r'id="credential-value">(st1\.[^<]+)<', page.get_data(as_text=True)).group(1)
    assert FakeAgent(client, first).poll().status_code == 401
    assert FakeAgent(client, second).poll().status_code == 200
    assert client.get("/console/station/stations").get_data(as_text=True).count("st1.") == 0  # shown once
    client.post(f"/console/station/stations/{station_id}/revoke")
    assert FakeAgent(client, second).poll().status_code == 401
