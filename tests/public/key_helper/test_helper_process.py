"""The real key helper (`python -m agent.helper`, what `ukey-helper` runs) on SoftHSM2 against the back
office over HTTP: a key programmed at the station by the real agent and in the applicant's hands is
renewed from the home page, the key password typed into the helper (piped on its stdin)."""
from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys

import pkcs11
import pytest
from cryptography import x509
from pkcs11 import Attribute, ObjectClass
from sqlalchemy import select

from agent.tokens import serial_text
from billing.services import current_services
from models import (
    Certificate,
    CertificateStatus,
    JobStatus,
    Order,
    OrderStatus,
    SmsMessage,
    Token,
    TokenState,
)
from models.base import utcnow
from notifications.outbox import latest_for
from public import operations
from tests.conftest import sms_code_in
from tests.personal_orders import approved_personal_order
from tests.public.key_helper.pages import form_values, open_renewal, renew_and_pay, status
from tests.public.key_helper.test_personal_renewal import sign_and_pay
from tests.softhsm import MODULE
from tests.station import live
from tests.station.live import ROOT, wait_for
from tests.station.test_programming import plugged_key, start, status_is

live_url, live_station = live.live_url, live.live_station  # the fixtures of tests/station/live.py


def in_use(committed, number: str, key: str, days_left: int) -> str:
    """The order's key shipped and in use, its certificate ending `days_left` days from now (the register's
    end date, what the renewal window reads); the key password."""
    def ship(session):
        order = session.scalars(select(Order).where(Order.number == number)).one()
        order.move_to(OrderStatus.SHIPPED, "staff:test")
        order.move_to(OrderStatus.COMPLETED, "staff:test")
        token = session.scalars(select(Token).where(Token.serial == key)).one()
        token.move_to(TokenState.SHIPPED, "staff:test")
        token.move_to(TokenState.ACTIVE, "staff:test")
        certificate = session.scalars(select(Certificate).where(Certificate.order_id == order.id)).one()
        certificate.not_after = utcnow() + dt.timedelta(days=days_left)
    committed(ship)


def key_holds(serial: str, user_pin: str) -> tuple[list[str], list[int]]:
    """The key's key pairs (CKA_ID hex) and end-entity certificates (serial numbers), read with its password."""
    lib = pkcs11.lib(MODULE)
    lib.reinitialize()
    token = next(t for t in lib.get_tokens() if serial_text(t.serial) == serial)
    with token.open(user_pin=user_pin) as session:
        ids = [k[Attribute.ID] for k in session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})]
        leaves = [x509.load_der_x509_certificate(c[Attribute.VALUE]).serial_number
                  for c in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}) if c[Attribute.ID] in ids]
    lib.reinitialize()
    return [key_id.hex() for key_id in ids], leaves


@pytest.fixture
def key_at_pc(station_app, live_station, client, committed, fulfillment, approved, monkeypatch):  # noqa: F811
    """key_at_pc(days_left, number=None) -> (key serial, key password, order number): a key programmed at the
    station by the real agent on SoftHSM2 for the approved order `number` (a new unit order's by default),
    shipped and in use, its certificate ending `days_left` days from now."""
    monkeypatch.setitem(station_app.config, "PASSWORD_CARD_PRINTS_PIN", True)  # the password stays readable

    def make(days_left: int = 30, number: str | None = None):
        agent = live_station.agents.start()
        _label, key = plugged_key(live_station, committed, agent)
        earlier = number or approved()
        password = committed(lambda s: s.scalars(select(Order).where(Order.number == earlier)).one()
                             .certificate_password)
        job = start(client, committed, live_station.name, earlier, key)
        wait_for(status_is(committed, job, JobStatus.DONE), what="the station to program the key")
        assert agent.stop() == 0, agent.output
        in_use(committed, earlier, key, days_left=days_left)
        return key, password, earlier
    return make


def helper_process(live_url: str, live_station, code: str, *typed: str) -> subprocess.Popen:
    """`python -m agent.helper` on the test's token store, paired with `code`, the lines `typed` waiting
    on its stdin (what the applicant types when it asks)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "agent.helper", "--url", live_url, "--code", code, "--module", MODULE, "--wait", "0.2"],
        env={**os.environ, "SOFTHSM2_CONF": str(live_station.hsm.conf)}, cwd=ROOT, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    process.stdin.write("".join(line + "\n" for line in typed))
    process.stdin.flush()
    return process


def finished(process: subprocess.Popen) -> str:
    """The helper's output once it exited by itself (status 0)."""
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        stop(process)
        raise
    assert process.returncode == 0, output
    return output


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.communicate()


def test_a_renewal_with_the_real_helper_on_softhsm2(station_app, live_station, live_url, client, committed,
                                                    key_at_pc, worker_round_station):
    key, password, earlier = key_at_pc(days_left=30)
    old_serial = committed(lambda s: s.scalars(select(Certificate.serial_number).where(
        Certificate.media_serial == key)).one())

    public_id, code = open_renewal(client)
    helper = helper_process(live_url, live_station, code, password)  # the key login: typed into the helper
    try:
        wait_for(lambda: status(client, public_id)["next"], what="the key login")
        number = renew_and_pay(station_app, client, committed, public_id, phone="13700000003")
    except BaseException:
        stop(helper)
        raise
    output = finished(helper)
    assert password not in output
    steps = [step["step"] for step in status(client, public_id)["steps"]]
    assert steps[:2] == ["paired", "logged_in"] and steps[-2:] == ["verified", "old_key_deleted"]
    worker_round_station()  # the earlier certificate superseded by the signing service

    def read(session):
        order = session.scalars(select(Order).where(Order.number == number)).one()
        new = session.scalars(select(Certificate).where(Certificate.order_id == order.id)).one()
        old = session.scalars(select(Certificate).where(Certificate.serial_number == old_serial)).one()
        return order.status, order.key_work, new.serial_number, new.media_serial, old.status
    order_status, key_work, new_serial, media, old_status = committed(read)
    assert (order_status, key_work, media, old_status) == (OrderStatus.COMPLETED, "helper", key,
                                                           CertificateStatus.SUPERSEDED)
    pairs, leaves = key_holds(key, password)  # the key password did not change
    assert len(pairs) == 1 and leaves == [int(new_serial, 16)]  # the old key pair and certificate are gone


def test_a_personal_renewal_with_the_real_helper_on_softhsm2(station_app, live_station, live_url, client, committed,
                                                             key_at_pc, worker_round_station):
    """A personal certificate's: the new certificate names the same person (CN and serialNumber)."""
    earlier = committed(lambda s: approved_personal_order(s, station_app.config["UPLOAD_FOLDER"]).number)
    key, password, _ = key_at_pc(days_left=30, number=earlier)
    old_subject = committed(lambda s: s.scalars(select(Certificate.subject)
                                                .where(Certificate.media_serial == key)).one())
    public_id, code = open_renewal(client)
    helper = helper_process(live_url, live_station, code, password)
    try:
        wait_for(lambda: status(client, public_id)["next"], what="the key login")
        values = form_values(client.get(f"/renewal/{public_id}/form").get_data(as_text=True))
        assert client.post(f"/renewal/{public_id}/form", data={**values, "consent": "y"}).status_code == 302
        number = client.post(f"/renewal/{public_id}/confirm").headers["Location"].split("/")[2]
        sign_and_pay(station_app, client, committed, number, values["holder_phone"])
    except BaseException:
        stop(helper)
        raise
    finished(helper)
    worker_round_station()

    def read(session):
        order = session.scalars(select(Order).where(Order.number == number)).one()
        new = session.scalars(select(Certificate).where(Certificate.order_id == order.id)).one()
        return order.status, new.subject, new.serial_number, session.get(Certificate, order.certificate_id).status
    order_status, subject, new_serial, old_status = committed(read)
    assert (order_status, subject, old_status) == (OrderStatus.COMPLETED, old_subject, CertificateStatus.SUPERSEDED)
    pairs, leaves = key_holds(key, password)
    assert len(pairs) == 1 and leaves == [int(new_serial, 16)]


def lock(committed, key: str, password: str) -> None:
    """Ten wrong key passwords on the key, counted by the product (SoftHSM2 itself never locks)."""
    lib = pkcs11.lib(MODULE)
    lib.reinitialize()
    token = next(t for t in lib.get_tokens() if serial_text(t.serial) == key)
    for _ in range(10):
        with pytest.raises(pkcs11.PinIncorrect):
            token.open(user_pin="wrong-" + password)
    lib.reinitialize()

    def count(session):
        found = session.scalars(select(Token).where(Token.serial == key)).one()
        found.wrong_user_pins = 10
        found.move_to(TokenState.LOCKED, "applicant:key-helper", note="10 wrong key passwords")
    committed(count)


def unlock_code(committed, phone: str) -> str:
    text = committed(lambda s: s.scalars(select(SmsMessage).where(
        SmsMessage.phone == phone, SmsMessage.template == "unlock").order_by(SmsMessage.id.desc())).first().text)
    return re.search(r"验证码(\d{6})", text).group(1)


def test_an_unlock_with_the_real_helper_on_softhsm2(live_station, live_url, client, committed, key_at_pc):
    key, password, earlier = key_at_pc(days_left=200)
    lock(committed, key, password)
    on_file = committed(lambda s: (operations.form_data(s.scalars(select(Order).where(Order.number == earlier)).one()),
                                   s.scalars(select(Token).where(Token.serial == key)).one().so_pin))
    data, so_pin = on_file
    opened = client.get("/c/direct/unlock")
    public_id = opened.headers["Location"].rsplit("/", 1)[1]
    code = re.search(r'id="pairing-code">([0-9-]+)<', client.get(f"/key/{public_id}").get_data(as_text=True)).group(1)
    new_password = "Neu-8642x"
    # The new key password, typed twice into the helper once it is asked for.
    helper = helper_process(live_url, live_station, code, new_password, new_password)
    try:
        wait_for(lambda: status(client, public_id)["next"], what="the helper to report the locked key")
        names = ("org_name", "org_department", "credit_code", "org_phone", "legal_rep_name", "legal_rep_phone",
                 "legal_rep_id_type", "legal_rep_id_number", "agent_name", "agent_phone", "agent_id_type",
                 "agent_id_number", "agent_email", "mailing_province", "mailing_city", "mailing_address")
        sent = client.post(f"/unlock/{public_id}?way=identity",
                           data={"person": "legal_rep", **{name: data[name] for name in names}})
        assert sent.status_code == 302, sent.get_data(as_text=True)
        authorised = client.post(f"/unlock/{public_id}/code",
                                 data={"code": unlock_code(committed, data["legal_rep_phone"])})
        assert authorised.status_code == 302
    except BaseException:
        stop(helper)
        raise
    output = finished(helper)
    assert new_password not in output
    assert status(client, public_id)["next"].endswith(f"/unlock/{public_id}/done")
    token = committed(lambda s: s.scalars(select(Token).where(Token.serial == key)).one())
    assert (token.state, token.wrong_user_pins) == (TokenState.ACTIVE, 0)
    assert token.so_pin != so_pin  # the SO PIN used for the unlock is spent
    pairs, leaves = key_holds(key, new_password)  # the new password opens the key; its certificate stays
    assert len(pairs) == 1 and len(leaves) == 1
    with pytest.raises(pkcs11.PinIncorrect):
        key_holds(key, password)


def test_an_information_change_with_the_real_helper_on_softhsm2(station_app, live_station, live_url, client,
                                                                committed, key_at_pc, worker_round_station):
    """A move to another city changes the certificate's subject: no review (neither the name nor the legal
    representative changed), paid, and a new certificate with the new subject on the same key."""
    key, password, earlier = key_at_pc(days_left=200)
    opened = client.get("/c/direct/change/key")
    public_id = opened.headers["Location"].rsplit("/", 1)[1]
    code = re.search(r'id="pairing-code">([0-9-]+)<', client.get(f"/key/{public_id}").get_data(as_text=True)).group(1)
    helper = helper_process(live_url, live_station, code, password)
    try:
        wait_for(lambda: status(client, public_id)["next"], what="the key login")
        form = status(client, public_id)["next"]
        values = form_values(client.get(form).get_data(as_text=True))
        city = next(c for c in re.findall(r'<option value="(\d{6})"', client.get(form).get_data(as_text=True))
                    if c.startswith(values["region_province"][:2]) and c != values["region_city"])
        values.update(region_city=city, consent="y")
        confirm = client.post(form, data=values)
        assert confirm.status_code == 302, confirm.get_data(as_text=True)
        number = client.post(confirm.headers["Location"]).headers["Location"].split("/")[2]
        phone = values["agent_phone"]
        client.post(f"/apply/{number}/signature/code")
        sms = committed(lambda s: latest_for(s, phone).text)
        assert client.post(f"/apply/{number}/signature", data={"sms_code": sms_code_in(sms)}).status_code == 302
        client.get(f"/apply/{number}/pay")
        with station_app.app_context():
            current_services().provider.pay(number)
        assert client.get(f"/apply/{number}/pay/status").get_json()["waiting"] is False
    except BaseException:
        stop(helper)
        raise
    finished(helper)
    worker_round_station()

    def read(session):
        order = session.scalars(select(Order).where(Order.number == number)).one()
        new = session.scalars(select(Certificate).where(Certificate.order_id == order.id)).one()
        return order.status, order.key_work, new.serial_number, new.subject, session.get(
            Certificate, order.certificate_id).status
    order_status, key_work, new_serial, subject, old_status = committed(read)
    assert (order_status, key_work, old_status) == (OrderStatus.COMPLETED, "helper", CertificateStatus.SUPERSEDED)
    pairs, leaves = key_holds(key, password)  # the same key and password, the new certificate only
    assert len(pairs) == 1 and leaves == [int(new_serial, 16)]
