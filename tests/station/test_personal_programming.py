"""A personal certificate's key at the station, on SoftHSM2 with the real agent: the queue and the job
name the holder, the certificate on the key names them (and their ID only by its keyed digest), the
password card prints their name, and the parcel goes to them at the order's mailing address."""
from __future__ import annotations

import uuid

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from markupsafe import escape
from sqlalchemy import select

from fulfillment.shipping import address_of
from models import Courier, JobStatus, OrderStatus, Shipment
from tests.factories import resident_id
from tests.personal_orders import approved_personal_order
from tests.station import live
from tests.station.conftest import order_of
from tests.station.live import wait_for
from tests.station.test_programming import check_programmed, job_state, plugged_key, start, status_is
from tests.station.test_shipping import card, pdf_text

live_url, live_station = live.live_url, live.live_station  # the fixtures of tests/station/live.py
HOLDER = "欧阳晓梅"
ID_NUMBER = resident_id(515)


@pytest.fixture(autouse=True)
def password_kept(station_app, monkeypatch):
    """The password kept after programming, as a CA that prints it on the card keeps it (the key's user
    PIN is read back from it)."""
    monkeypatch.setitem(station_app.config, "PASSWORD_CARD_PRINTS_PIN", True)


@pytest.fixture
def personal(committed, station_app):
    """The number of a new approved, paid personal order of HOLDER (committed)."""
    def work(session):
        order = approved_personal_order(session, station_app.config["UPLOAD_FOLDER"], name=HOLDER,
                                        id_number=ID_NUMBER, phone=f"136{uuid.uuid4().int % 10**8:08d}")
        order.certificate_password = "Pw" + uuid.uuid4().hex[:8]
        return order.number

    return committed(work)


def test_a_personal_key_is_programmed_carded_and_shipped_to_its_holder(live_station, client, committed, fulfillment,
                                                                        personal, tmp_path, station_app, monkeypatch):
    number = personal
    home = client.get("/console/station/").get_data(as_text=True)
    assert number in home and HOLDER in home

    agent = live_station.agents.start()
    _label, serial = plugged_key(live_station, committed, agent)
    public_id = start(client, committed, live_station.name, number, serial)
    page = client.get(f"/console/station/jobs/{public_id}?lang=en").get_data(as_text=True)
    assert HOLDER in page and str(escape("Holder")) in page
    wait_for(status_is(committed, public_id, JobStatus.DONE), what="the job to be done")
    assert agent.stop() == 0, agent.output
    assert job_state(committed, public_id)["order"] == number

    leaf = check_programmed(committed, public_id, serial, tmp_path)
    holder_serial, phone, password = committed(lambda s: (order_of(s, number).holder.subject_serial,
                                                          order_of(s, number).holder.phone,
                                                          order_of(s, number).certificate_password))
    on_key = x509.load_der_x509_certificate(leaf)
    assert [(a.oid, a.value) for a in on_key.subject] == [
        (NameOID.COUNTRY_NAME, "CN"), (NameOID.COMMON_NAME, HOLDER), (NameOID.SERIAL_NUMBER, holder_serial)]
    assert ID_NUMBER.encode() not in leaf and not on_key.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)

    shipping = client.get("/console/station/shipping").get_data(as_text=True)
    assert number in shipping and HOLDER in shipping
    monkeypatch.setitem(station_app.config, "PASSWORD_CARD_PRINTS_PIN", False)  # the password went by SMS
    text = pdf_text(card(client, number).data)
    assert "证书持有人" in text and HOLDER in text and serial in text and "已通过短信另行发送" in text
    assert password not in text and ID_NUMBER not in text

    courier_id = committed(lambda s: s.scalars(select(Courier.id).where(Courier.code == "shunfeng")).one())
    tracking = f"SF{uuid.uuid4().int % 10**12:012d}"
    assert client.post(f"/console/station/orders/{number}/ship",
                       data={"courier": courier_id, "tracking_number": tracking}).status_code == 302

    def parcel(session):
        order = order_of(session, number)
        shipment = session.scalars(select(Shipment).where(Shipment.order_id == order.id)).one()
        return order.status, (shipment.recipient, shipment.phone, shipment.address), address_of(order)

    status, recipient, address = committed(parcel)
    assert status is OrderStatus.SHIPPED and recipient == (HOLDER, phone, address)
    assert "郑州市金水区花园路" in address
