"""The real key helper (`python -m agent.helper`, what `ukey-helper` runs) on SoftHSM2 against the back
office over HTTP: a key programmed at the station by the real agent and in the applicant's hands is
renewed from the home page, the key password typed into the helper (piped on its stdin)."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pkcs11
from cryptography import x509
from pkcs11 import Attribute, ObjectClass
from sqlalchemy import select

from agent.tokens import serial_text
from models import Certificate, CertificateStatus, JobStatus, Order, OrderStatus, Token, TokenState
from models.base import utcnow
from tests.public.key_helper.pages import open_renewal, renew_and_pay, status
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


def test_a_renewal_with_the_real_helper_on_softhsm2(station_app, live_station, live_url, client, committed,
                                                    fulfillment, approved, worker_round_station, monkeypatch):
    monkeypatch.setitem(station_app.config, "PASSWORD_CARD_PRINTS_PIN", True)  # the password stays readable
    agent = live_station.agents.start()
    _label, key = plugged_key(live_station, committed, agent)
    earlier = approved()
    password = committed(lambda s: s.scalars(select(Order).where(Order.number == earlier)).one().certificate_password)
    job = start(client, committed, live_station.name, earlier, key)
    wait_for(status_is(committed, job, JobStatus.DONE), what="the station to program the key")
    assert agent.stop() == 0, agent.output
    in_use(committed, earlier, key, days_left=30)
    old_serial = committed(lambda s: s.scalars(select(Certificate.serial_number).where(
        Certificate.media_serial == key)).one())

    public_id, code = open_renewal(client)
    helper = subprocess.Popen(
        [sys.executable, "-m", "agent.helper", "--url", live_url, "--code", code, "--module", MODULE, "--wait", "0.2"],
        env={**os.environ, "SOFTHSM2_CONF": str(live_station.hsm.conf)}, cwd=ROOT, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        helper.stdin.write(password + "\n")  # the key login: typed into the helper, never into the page
        helper.stdin.flush()
        wait_for(lambda: status(client, public_id)["next"], what="the key login")
        number = renew_and_pay(station_app, client, committed, public_id, phone="13700000003")
        output, _ = helper.communicate(timeout=60)
    finally:
        if helper.poll() is None:
            helper.kill()
    assert helper.returncode == 0, output
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
