"""The station end to end on SoftHSM2: the back office over HTTP (tests.station.live), the real agent
(`python -m agent`) as a subprocess, staff working the pages with the test client. A blank key
becomes a programmed one; an agent SIGKILLed at each step is resumed (or the key wiped and redone)
and still leaves one key pair and one valid certificate; the signing service killed, a key pulled,
and a key of another order are handled; a key whose certificate was revoked comes back, is wiped
and goes back on the shelf."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from markupsafe import escape
from pkcs11 import Attribute, ObjectClass
from pkcs11.exceptions import AttributeSensitive, PinIncorrect, UserPinNotInitialized
from sqlalchemy import select

from agent.tokens import serial_text
from fulfillment import stock
from issuance import authority
from issuance.client import HttpSigningService
from issuance.interfaces import SigningService
from models import (
    Certificate,
    CertificateProfile,
    CertificateStatus,
    Crl,
    JobStatus,
    KeyReturn,
    MediaModel,
    OrderStatus,
    ProgrammingJob,
    ProgrammingStep,
    ReturnStatus,
    RevocationReason,
    Station,
    StockItem,
    Token,
    TokenState,
)
from protocol.station import FAILURES, STEPS, Step
from tests.softhsm import MODULE
from tests.station import live
from tests.station.conftest import order_of
from tests.station.live import ROOT, TRANSPORT_SO_PIN, free_port, wait_for
from web.services import find_service, service_replaced

live_url, live_station = live.live_url, live.live_station  # the fixtures of tests/station/live.py

@pytest.fixture(autouse=True)
def password_kept(station_app, monkeypatch):
    """The key's user PIN is read back from the order: keep the password after programming, as a CA
    that prints it on the card does (else it is destroyed once the key is programmed)."""
    monkeypatch.setitem(station_app.config, "PASSWORD_CARD_PRINTS_PIN", True)


# Where killing the agent makes sense: every step it reports (VERIFIED is the finish call).
KILL_AT = [step for step in STEPS if step is not Step.VERIFIED]


# --- reading the back office ---------------------------------------------------------------------------


def job_state(committed, public_id: str) -> dict:
    def read(session):
        job = session.scalars(select(ProgrammingJob).where(ProgrammingJob.public_id == public_id)).one()
        steps = [s.step for s in session.scalars(select(ProgrammingStep).where(
            ProgrammingStep.job_id == job.id, ProgrammingStep.attempt == job.attempt).order_by(ProgrammingStep.id))]
        return {"status": job.status, "step": job.step, "interruption": job.interruption,
                "message": job.interruption_message, "so_pin": job.so_pin, "attempt": job.attempt,
                "key_id": job.key_id, "steps": steps, "order": job.order.number}
    return committed(read)


def serial_seen(committed, station_name: str, label: str) -> str | None:
    """The serial of the key labelled `label` as the station's agent last reported it."""
    def read(session):
        station = session.scalars(select(Station).where(Station.name == station_name)).one()
        return next((t["serial"] for t in station.tokens_seen or [] if t["label"] == label), None)
    return committed(read)


def start(client, committed, station_name: str, number: str, serial: str) -> str:
    """Claim `number` and start it on the station with the key `serial` (the pages): the job's id."""
    response = client.post(f"/console/station/orders/{number}/claim")
    assert response.status_code == 302, response.get_data(as_text=True)
    public_id = response.headers["Location"].rsplit("/", 1)[-1]
    station_id = committed(lambda s: s.scalars(select(Station.id).where(Station.name == station_name)).one())
    assert client.post(f"/console/station/jobs/{public_id}/start",
                       data={"station": station_id, "serial": serial}).status_code == 302
    return public_id


def status_is(committed, public_id: str, status: JobStatus):
    return lambda: job_state(committed, public_id)["status"] is status


def plugged_key(live_station, committed, agent) -> tuple[str, str]:
    """A blank key made in the station's store and seen by the running agent: (label, serial)."""
    label = f"blank-{uuid.uuid4().hex[:6]}"
    live_station.blank_key(label)
    serial = wait_for(lambda: serial_seen(committed, live_station.name, label), what=f"the agent to report {label}")
    return label, serial


# --- reading the token ----------------------------------------------------------------------------------


def open_token(serial: str) -> pkcs11.Token:
    lib = pkcs11.lib(MODULE)
    lib.reinitialize()  # this test's store, and no session left over
    return next(t for t in lib.get_tokens() if serial_text(t.serial) == serial)


def token_objects(serial: str, user_pin: str) -> dict:
    """What the key holds, read as its user: key pairs, certificates (DER by CKA_ID) and whether the
    private keys are sensitive."""
    with open_token(serial).open(user_pin=user_pin) as session:
        private = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}))
        public = list(session.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY}))
        certificates = sorted((bytes(c[Attribute.ID]), bytes(c[Attribute.VALUE]))
                              for c in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}))
        sensitive = []
        for key in private:
            secret = Attribute.PRIVATE_EXPONENT if key.key_type == pkcs11.KeyType.RSA else Attribute.VALUE
            with pytest.raises(AttributeSensitive):
                key[secret]
            sensitive.append((key[Attribute.SENSITIVE], key[Attribute.EXTRACTABLE]))
        return {"private": [(bytes(k[Attribute.ID]), k.key_type) for k in private],
                "public": [bytes(k[Attribute.ID]) for k in public], "certificates": certificates,
                "sensitive": sensitive}


def check_pins(serial: str, user_pin: str, so_pin: str) -> None:
    """The user PIN is the order's certificate password; the SO PIN the job's, not the transport one."""
    with open_token(serial).open(user_pin=user_pin):
        pass
    with open_token(serial).open(rw=True, so_pin=so_pin):
        pass
    with pytest.raises(PinIncorrect):
        open_token(serial).open(rw=True, so_pin=TRANSPORT_SO_PIN)
    pkcs11.lib(MODULE).reinitialize()


# --- the outcome -------------------------------------------------------------------------------------------


def check_programmed(committed, public_id: str, serial: str, tmp_path: Path) -> bytes:
    """Job done, order programmed, one key pair on the key and its certificate the order's only
    unrevoked one; every other certificate of the order revoked and on the newest CRL. The leaf's DER."""
    state = job_state(committed, public_id)
    assert state["status"] is JobStatus.DONE, state
    number = state["order"]

    def read(session):
        order = order_of(session, number)
        rows = session.scalars(select(Certificate).where(Certificate.order_id == order.id)).all()
        crl = session.scalars(select(Crl).order_by(Crl.id.desc())).first()
        valid = [c for c in rows if c.status is not CertificateStatus.REVOKED]
        chain = authority.chain_pem(valid[0].issuer) if valid else []
        token = session.scalars(select(Token).where(Token.serial == serial)).one()
        return {"status": order.status, "password": order.certificate_password, "valid": [c.der for c in valid],
                "revoked": [int(c.serial_number, 16) for c in rows if c.status is CertificateStatus.REVOKED],
                "crl": crl.der if crl else None, "chain": chain, "token_order": token.order_id == order.id}
    db = committed(read)
    assert db["status"] is OrderStatus.PROGRAMMED and db["token_order"]
    assert len(db["valid"]) == 1, f"{len(db['valid'])} unrevoked certificates"
    if db["revoked"]:
        crl = x509.load_der_x509_crl(db["crl"])
        for number_ in db["revoked"]:
            assert crl.get_revoked_certificate_by_serial_number(number_) is not None

    on_token = token_objects(serial, db["password"])
    key_id = bytes.fromhex(state["key_id"])
    assert len(on_token["private"]) == 1 and on_token["private"][0][0] == key_id
    assert on_token["public"] == [key_id]
    assert on_token["sensitive"] == [(True, False)]
    leaves = [der for cid, der in on_token["certificates"] if cid == key_id]
    assert leaves == db["valid"]
    check_pins(serial, db["password"], state["so_pin"])

    issuing, root = db["chain"]
    (tmp_path / "issuing.pem").write_text(issuing)
    (tmp_path / "root.pem").write_text(root)
    (tmp_path / "leaf.pem").write_text(x509.load_der_x509_certificate(leaves[0]).public_bytes(
        Encoding.PEM).decode())
    verified = subprocess.run(["openssl", "verify", "-CAfile", "root.pem", "-untrusted", "issuing.pem", "leaf.pem"],
                              cwd=tmp_path, capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    return leaves[0]


# --- the tests ------------------------------------------------------------------------------------------------


def test_a_blank_key_is_programmed_end_to_end(live_station, client, committed, fulfillment, approved, tmp_path):
    agent = live_station.agents.start()
    _label, serial = plugged_key(live_station, committed, agent)
    number = approved()
    public_id = start(client, committed, live_station.name, number, serial)
    wait_for(status_is(committed, public_id, JobStatus.DONE), what="the job to be done")
    assert job_state(committed, public_id)["steps"][-1] == Step.VERIFIED
    assert agent.stop() == 0, agent.output
    assert agent.said(f"job {public_id}: chain_written")
    check_programmed(committed, public_id, serial, tmp_path)


@pytest.fixture
def rsa_first(committed):
    """The demo profile asks for RSA-2048 first while the test runs (its keys take long enough to
    generate that a kill lands during generation)."""
    def swap(session, key_types=None):
        profile = session.scalars(select(CertificateProfile).where(CertificateProfile.code == "UNIT-SIGN")).one()
        before, profile.key_types = profile.key_types, key_types or "rsa2048,ec_p256"
        return before

    before = committed(swap)
    yield
    committed(lambda session: swap(session, before))


@pytest.mark.parametrize("step", KILL_AT, ids=str)
def test_an_agent_killed_at_a_step_is_resumed(step, live_station, client, committed, fulfillment, approved, tmp_path,
                                              request):
    hold = None if step is Step.GENERATING else step.value  # generating: killed during RSA generation, no hold
    if step is Step.GENERATING:
        request.getfixturevalue("rsa_first")
    agent = live_station.agents.start(hold_after=hold)
    _label, serial = plugged_key(live_station, committed, agent)
    public_id = start(client, committed, live_station.name, approved(), serial)
    if hold:
        wait_for(lambda: agent.said(f"holding after {step}"), what=f"the agent to hold after {step}")
    wait_for(lambda: step in job_state(committed, public_id)["steps"],
             what=f"{step} to be recorded ({job_state(committed, public_id)}; agent: {agent.output})")
    agent.kill()

    again = live_station.agents.start()  # its first poll names no running job: the job was cut off
    wait_for(status_is(committed, public_id, JobStatus.INTERRUPTED), what="the job to be interrupted")
    assert job_state(committed, public_id)["interruption"] == "cut_off"
    assert client.post(f"/console/station/jobs/{public_id}/resume").status_code == 302
    wait_for(status_is(committed, public_id, JobStatus.DONE), what="the resumed job to be done")
    assert again.stop() == 0, again.output
    check_programmed(committed, public_id, serial, tmp_path)


def test_wipe_and_redo_after_a_kill_at_certificate_issued(live_station, client, committed, fulfillment, approved,
                                                          tmp_path):
    agent = live_station.agents.start(hold_after=Step.CERTIFICATE_ISSUED.value)
    _label, serial = plugged_key(live_station, committed, agent)
    number = approved()
    public_id = start(client, committed, live_station.name, number, serial)
    wait_for(lambda: agent.said("holding after certificate_issued"), what="the hold")
    agent.kill()
    again = live_station.agents.start()
    wait_for(status_is(committed, public_id, JobStatus.INTERRUPTED), what="the job to be interrupted")
    assert again.stop() == 0  # no agent while the key is wiped: the revocation is seen before the redo

    def first_certificate(session):
        [certificate] = session.scalars(select(Certificate).where(
            Certificate.order_id == order_of(session, number).id)).all()
        return certificate.serial_number
    first = int(committed(first_certificate), 16)
    assert client.post(f"/console/station/jobs/{public_id}/wipe").status_code == 302

    def revoked_first(session):
        certificate = next(c for c in session.scalars(select(Certificate).where(
            Certificate.order_id == order_of(session, number).id)) if int(c.serial_number, 16) == first)
        crl = x509.load_der_x509_crl(session.scalars(select(Crl).order_by(Crl.id.desc())).first().der)
        return certificate.status, crl.get_revoked_certificate_by_serial_number(first) is not None
    assert committed(revoked_first) == (CertificateStatus.REVOKED, True)
    state = job_state(committed, public_id)
    assert state["status"] is JobStatus.QUEUED and state["attempt"] == 2

    last = live_station.agents.start()
    wait_for(status_is(committed, public_id, JobStatus.DONE), what="the redo to be done")
    assert last.stop() == 0, last.output
    assert last.said("(wipe)")
    leaf = check_programmed(committed, public_id, serial, tmp_path)
    assert x509.load_der_x509_certificate(leaf).serial_number != first


def test_a_key_pulled_mid_job_interrupts_it_with_its_message(live_station, client, committed, fulfillment, approved,
                                                             tmp_path):
    agent = live_station.agents.start(hold_after=Step.DETECTED.value)
    _label, serial = plugged_key(live_station, committed, agent)
    public_id = start(client, committed, live_station.name, approved(), serial)
    wait_for(lambda: agent.said("holding after detected"), what="the hold")
    agent.kill()
    [token_folder] = list(live_station.folder.iterdir())  # the store holds this one key
    pulled = live_station.folder.parent / "pulled"
    shutil.move(token_folder, pulled)

    again = live_station.agents.start()
    wait_for(status_is(committed, public_id, JobStatus.INTERRUPTED), what="the cut-off job to be interrupted")
    assert client.post(f"/console/station/jobs/{public_id}/resume").status_code == 302
    wait_for(lambda: job_state(committed, public_id)["interruption"] in ("token_not_found", "token_pulled"),
             what="the agent to report the key gone")
    state = job_state(committed, public_id)
    assert state["status"] is JobStatus.INTERRUPTED
    page = client.get(f"/console/station/jobs/{public_id}").get_data(as_text=True)
    assert state["message"] and _html(state["message"]) in page, state["message"]

    shutil.move(pulled, token_folder)  # plugged in again: resumed, it finishes
    wait_for(lambda: serial_seen(committed, live_station.name, _label), what="the key to be seen again")
    assert client.post(f"/console/station/jobs/{public_id}/resume").status_code == 302
    wait_for(status_is(committed, public_id, JobStatus.DONE), what="the job to be done")
    assert again.stop() == 0, again.output
    check_programmed(committed, public_id, serial, tmp_path)


def test_a_key_gone_before_the_agent_takes_the_job(live_station, client, committed, fulfillment, approved):
    agent = live_station.agents.start()
    _label, serial = plugged_key(live_station, committed, agent)
    assert agent.stop() == 0
    [token_folder] = list(live_station.folder.iterdir())
    shutil.move(token_folder, live_station.folder.parent / "pulled")
    public_id = start(client, committed, live_station.name, approved(), serial)  # as last reported
    live_station.agents.start()
    wait_for(status_is(committed, public_id, JobStatus.INTERRUPTED), what="the job to be interrupted")
    state = job_state(committed, public_id)
    assert state["interruption"] == "token_not_found", (state, live_station.agents.started[-1].output)
    page = client.get(f"/console/station/jobs/{public_id}").get_data(as_text=True)
    assert _html(state["message"]) in page


def test_a_key_of_another_order_is_never_touched(live_station, client, committed, fulfillment, approved):
    agent = live_station.agents.start()
    _label, serial = plugged_key(live_station, committed, agent)
    first = start(client, committed, live_station.name, approved(), serial)
    wait_for(status_is(committed, first, JobStatus.DONE), what="the first job to be done")
    password = committed(lambda s: order_of(s, job_state(committed, first)["order"]).certificate_password)
    assert agent.stop() == 0
    before = token_objects(serial, password)

    agent = live_station.agents.start()  # the key's label is the first order's number now
    # Its own first listing (the station's last_seen_at may still be the stopped agent's); stopping it
    # before it set up its signal handlers would not end it cleanly.
    wait_for(lambda: agent.said("keys:"), what="the agent to list its keys")
    number = job_state(committed, first)["order"]  # it lists the keys, then reports them in its next poll
    wait_for(lambda: serial_seen(committed, live_station.name, number) == serial,
             what="the agent to report the key under the order's number")
    second = start(client, committed, live_station.name, approved(), serial)  # refused: the form does not offer it
    time.sleep(1)  # a few polls of the agent (--wait 0.2)
    assert job_state(committed, second)["status"] is JobStatus.CLAIMED
    assert agent.stop() == 0
    assert not agent.said(f"job {second}")
    assert token_objects(serial, password) == before


def test_the_signing_service_killed_interrupts_the_job_until_it_is_back(
        station_app, live_station, client, committed, fulfillment, approved, tmp_path):
    port = free_port()
    config = station_app.config
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")},
           "BACKOFFICE_INSTANCE": str(tmp_path / "instance"), "APP_ENV": "test",
           "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"], "BACKOFFICE_CA_SIGNER": "keyfile",
           **{f"BACKOFFICE_{name}": config[name] for name in (
               "CA_KEY_FOLDER", "CA_PUBLIC_URL", "SIGNING_SERVICE_KEY", "SECRET_KEY", "FIELD_ENCRYPTION_KEY",
               "LOOKUP_KEY", "AUDIT_SEAL_KEY", "AUDIT_ANCHOR_PATH")}}

    def signing_service() -> subprocess.Popen:
        process = subprocess.Popen([str(Path(sys.executable).parent / "flask"), "--app", "signing_wsgi", "run",
                                    "--port", str(port)], env=env, cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: _listening(port) or process.poll() is not None, what="the signing service to listen")
        assert process.poll() is None, "the signing service did not start"
        return process

    service = signing_service()
    try:
        with service_replaced(station_app, SigningService,
                              HttpSigningService(f"http://127.0.0.1:{port}", config["SIGNING_SERVICE_KEY"])):
            agent = live_station.agents.start()
            _label, serial = plugged_key(live_station, committed, agent)
            service.send_signal(signal.SIGKILL)
            service.wait(timeout=10)
            public_id = start(client, committed, live_station.name, approved(), serial)
            wait_for(status_is(committed, public_id, JobStatus.INTERRUPTED), what="the job to be interrupted")
            state = job_state(committed, public_id)
            assert state["interruption"] == "signing_unavailable" and state["step"] != Step.CERTIFICATE_ISSUED
            assert state["message"] == FAILURES["signing_unavailable"]

            service = signing_service()
            assert client.post(f"/console/station/jobs/{public_id}/resume").status_code == 302
            wait_for(status_is(committed, public_id, JobStatus.DONE), what="the resumed job to be done")
            assert agent.stop() == 0, agent.output
            check_programmed(committed, public_id, serial, tmp_path)
    finally:
        if service.poll() is None:
            service.send_signal(signal.SIGKILL)
        service.wait(timeout=10)


def test_a_revoked_key_sent_back_is_wiped_by_the_agent_and_back_on_the_shelf(
        station_app, live_station, client, committed, fulfillment, approved, tmp_path):
    agent = live_station.agents.start()
    _label, serial = plugged_key(live_station, committed, agent)
    model_id = committed(lambda s: s.scalars(select(MediaModel.id).where(MediaModel.active.is_(True))
                                             .order_by(MediaModel.id)).first())

    def shelf() -> int:
        return committed(lambda s: stock.on_hand(s, StockItem.KEY, s.get(MediaModel, model_id)))

    committed(lambda s: stock.receive_keys(s, s.get(MediaModel, model_id), [serial], "staff:test"))  # a shelf key
    public_id = start(client, committed, live_station.name, approved(), serial)
    wait_for(status_is(committed, public_id, JobStatus.DONE), what="the job to be done")
    check_programmed(committed, public_id, serial, tmp_path)
    job_so_pin = job_state(committed, public_id)["so_pin"]
    on_shelf = shelf()

    certificate = committed(lambda s: s.scalars(select(Certificate.serial_number).where(
        Certificate.media_serial == serial)).one())
    with station_app.app_context():
        find_service(SigningService).revoke(certificate, RevocationReason.KEY_COMPROMISE,
                                            requested_by="staff:st-senior", confirmed_by="staff:st-admin")
    committed(lambda s: s.scalars(select(Token).where(Token.serial == serial)).one().move_to(
        TokenState.REVOKED, "staff:test"))  # as the revocation's effects do

    assert client.post("/console/station/returns", data={"serial": serial}).status_code == 302

    def status() -> ReturnStatus:
        return committed(lambda s: s.scalars(select(KeyReturn.status).join(Token).where(Token.serial == serial)).one())

    wait_for(lambda: status() in (ReturnStatus.DONE, ReturnStatus.FAILED), what="the agent to wipe the key")
    assert status() is ReturnStatus.DONE, (client.get("/console/station/returns").get_data(as_text=True),
                                           agent.output)
    assert committed(lambda s: s.scalars(select(Token.state).where(Token.serial == serial)).one()) \
        is TokenState.BLANK
    assert shelf() == on_shelf + 1
    # The agent says so once the station's answer to its report is back, a moment after the server wrote it.
    wait_for(lambda: any(line.startswith("wipe ") and line.endswith(": verified") for line in agent.lines),
             what="the agent to say the wipe was verified")
    assert agent.stop() == 0, agent.output

    # On the key: nothing left, the transport SO PIN back, the job's SO PIN and the user PIN gone.
    with open_token(serial).open(rw=True, so_pin=TRANSPORT_SO_PIN) as session:
        assert list(session.get_objects()) == []
    with pytest.raises(PinIncorrect):
        open_token(serial).open(rw=True, so_pin=job_so_pin)
    with pytest.raises(UserPinNotInitialized):
        open_token(serial).open(user_pin="anything")
    pkcs11.lib(MODULE).reinitialize()

    again = live_station.agents.start()  # and it is programmed again, as a blank key of the shelf
    wait_for(lambda: any(t["serial"] == serial and t["blank"] for t in committed(lambda s: s.scalars(
        select(Station).where(Station.name == live_station.name)).one().tokens_seen)), what="the key listed blank")
    second = start(client, committed, live_station.name, approved(), serial)
    wait_for(status_is(committed, second, JobStatus.DONE), what="the wiped key to be programmed again")
    assert again.stop() == 0, again.output
    check_programmed(committed, second, serial, tmp_path)
    assert shelf() == on_shelf


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _html(text: str) -> str:
    return str(escape(text))
