"""From a programmed key to the applicant's hands: the password card (with and without the PIN, the
password gone afterwards, a reprint without it), the parcel, its label and the handover list, the
applicant told, delivery confirmed by hand or by the courier's sandbox, a returned parcel."""
from __future__ import annotations

import datetime as dt
import re
import subprocess

import pytest
from sqlalchemy import select

from fulfillment import shipping
from fulfillment.courier_sandbox import SandboxCourierTracking
from fulfillment.couriers import CourierTracking
from models import (
    Courier,
    OrderStatus,
    Shipment,
    ShipmentStatus,
    SmsMessage,
    Token,
    TokenState,
)
from tests.station.conftest import order_of
from tests.station.fake_agent import FakeAgent
from tests.station.test_api import blank, serial, start
from web.services import find_service


def pdf_text(pdf: bytes) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return done.stdout.decode()


@pytest.fixture
def programmed(client, committed, fulfillment, approved, station_credential):
    """programmed() -> (order number, the key's serial, its certificate password): a key programmed
    by the (fake) agent, as the station does it."""
    name, credential = station_credential

    def make():
        key = serial()
        agent = FakeAgent(client, credential, [blank(key)])
        agent.poll()
        number = approved()
        password = committed(lambda s: order_of(s, number).certificate_password)
        start(client, committed, name, number, key)
        assert agent.run(agent.job()).status_code == 200
        return number, key, password

    return make


def card(client, number: str):
    return client.post(f"/console/station/orders/{number}/card")


def courier_id(committed, code: str = "shunfeng") -> int:
    return committed(lambda s: s.scalars(select(Courier.id).where(Courier.code == code)).one())


def test_a_card_without_the_pin_when_the_ca_does_not_print_it(client, committed, programmed):
    number, key, password = programmed()
    order = committed(lambda s: order_of(s, number))
    assert re.fullmatch(r"MK\d{10}", order.password_card_number)
    assert order.certificate_password is None  # destroyed when the key was programmed: it went by SMS
    response = card(client, number)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "private, no-store"
    text = pdf_text(response.data)
    assert order.password_card_number in text and number in text and key in text and password not in text
    assert "另行发送" in text


def test_a_card_with_the_pin_once_then_the_password_is_gone(client, committed, programmed, station_app,
                                                            monkeypatch):
    monkeypatch.setitem(station_app.config, "PASSWORD_CARD_PRINTS_PIN", True)
    number, key, password = programmed()
    assert committed(lambda s: order_of(s, number).certificate_password) == password  # kept for the card
    first = pdf_text(card(client, number).data)
    assert password in first and key in first
    assert committed(lambda s: order_of(s, number).certificate_password) is None
    again = pdf_text(card(client, number).data)
    assert password not in again and "补打的密码卡不含证书密码" in again
    actions = committed(lambda s: [e.action for e in order_of(s, number).audit_entries])
    assert actions.count("order.password_card_printed") == 2 and actions.count("order.password_destroyed") == 1


def test_ship_then_delivered_by_hand(client, committed, programmed):
    number, key, _ = programmed()
    sid = courier_id(committed)
    refused = client.post(f"/console/station/orders/{number}/ship", data={"courier": sid, "tracking_number": "SF1"})
    assert refused.status_code == 422  # the card first (and the number is too short anyway)
    card(client, number)
    bad = client.post(f"/console/station/orders/{number}/ship", data={"courier": sid, "tracking_number": "SF 12/34"})
    assert bad.status_code == 422 and 'value="SF12/34"' in bad.get_data(as_text=True)  # kept, to correct
    tracking = f"SF{serial()[:12]}"
    assert client.post(f"/console/station/orders/{number}/ship",
                       data={"courier": sid, "tracking_number": tracking}).status_code == 302
    order = committed(lambda s: order_of(s, number))
    assert order.status is OrderStatus.SHIPPED
    assert committed(lambda s: s.scalars(select(Token.state).where(Token.serial == key)).one()) is TokenState.SHIPPED
    sms = committed(lambda s: s.scalars(select(SmsMessage).where(SmsMessage.order_id == order.id,
                                                                 SmsMessage.template == "shipped")).one())
    assert tracking in sms.body and "顺丰速运" in sms.body
    # the same tracking number on another parcel is refused
    other, _, _ = programmed()
    card(client, other)
    twice = client.post(f"/console/station/orders/{other}/ship", data={"courier": sid, "tracking_number": tracking})
    assert twice.status_code == 422 and tracking in twice.get_data(as_text=True)
    assert committed(lambda s: order_of(s, other).status) is OrderStatus.PROGRAMMED
    shipment_id = committed(lambda s: s.scalars(select(Shipment.id).where(Shipment.tracking_number == tracking)).one())
    label = client.get(f"/console/station/shipments/{shipment_id}/label")
    assert tracking in pdf_text(label.data)
    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    handover = pdf_text(client.get(f"/console/station/shipping/handover?day={today}").data)
    assert tracking in handover and number in handover
    labels = client.get(f"/console/station/shipping/labels?day={today}")
    assert labels.mimetype == "application/pdf" and tracking in pdf_text(labels.data)
    assert client.post(f"/console/station/shipments/{shipment_id}/delivered").status_code == 302
    assert committed(lambda s: order_of(s, number).status) is OrderStatus.COMPLETED
    assert committed(lambda s: s.scalars(select(Token.state).where(Token.serial == key)).one()) is TokenState.ACTIVE


def _shipped(client, committed, programmed, tracking: str) -> tuple[str, str]:
    number, key, _ = programmed()
    card(client, number)
    assert client.post(f"/console/station/orders/{number}/ship",
                       data={"courier": courier_id(committed, "ems"), "tracking_number": tracking}).status_code == 302
    return number, key


def test_the_courier_sandbox_confirms_delivery_and_a_returned_parcel_goes_back(client, committed, programmed,
                                                                              station_app):
    delivered, _ = _shipped(client, committed, programmed, f"EM{serial()[:10]}")
    returned, key = _shipped(client, committed, programmed, f"EM{serial()[:10]}R")
    delay = dt.timedelta(hours=station_app.config["COURIER_SANDBOX_DELIVERY_HOURS"])
    with station_app.app_context():
        assert isinstance(find_service(CourierTracking), SandboxCourierTracking)  # the default
    soon = SandboxCourierTracking(delay, now=lambda: dt.datetime.now(dt.UTC) + delay / 2)
    assert committed(lambda s: shipping.track_parcels(s, soon)).in_transit >= 2
    later = dt.datetime.now(dt.UTC) + delay + dt.timedelta(hours=1)
    counts = committed(lambda s: shipping.track_parcels(s, SandboxCourierTracking(delay, now=lambda: later),
                                                        now=later))
    assert counts.delivered >= 1 and counts.returned >= 1
    assert committed(lambda s: order_of(s, delivered).status) is OrderStatus.COMPLETED
    order = committed(lambda s: order_of(s, returned))
    assert order.status is OrderStatus.PROGRAMMED  # waits to be shipped again
    parcel = committed(lambda s: s.scalars(select(Shipment).where(Shipment.order_id == order.id)).one())
    assert parcel.status is ShipmentStatus.RETURNED and "拒收" in parcel.return_reason
    assert committed(lambda s: s.scalars(select(Token.state).where(Token.serial == key)).one()) is TokenState.PROGRAMMED
    told = committed(lambda s: s.scalars(select(SmsMessage).where(SmsMessage.order_id == order.id,
                                                                  SmsMessage.template == "parcel_returned")).one())
    assert "拒收" in told.body
    page = client.get("/console/station/shipping").get_data(as_text=True)
    assert returned in page and "拒收" in page


def test_a_parcel_returned_by_hand_needs_its_reason(client, committed, programmed):
    number, _ = _shipped(client, committed, programmed, f"EM{serial()[:10]}")
    shipment_id = committed(lambda s: s.scalars(select(Shipment.id).join(Shipment.order)
                                                .where(Shipment.order_id == order_of(s, number).id)).one())
    assert client.post(f"/console/station/shipments/{shipment_id}/returned", data={"reason": "  "}).status_code == 422
    assert client.post(f"/console/station/shipments/{shipment_id}/returned",
                       data={"reason": "地址不详"}).status_code == 302
    assert committed(lambda s: order_of(s, number).status) is OrderStatus.PROGRAMMED


def test_the_password_card_is_drawn_when_printed_and_never_stored(client, committed, programmed, station_app):
    """The card (and the PIN it may carry) goes to the printer only: the document store holds the
    same objects before and after it is printed, and reprinted."""
    from documents.storage import DocumentStore

    number, _, _ = programmed()
    with station_app.app_context():
        store = find_service(DocumentStore)
        before = sorted(store.names())
    assert card(client, number).data.startswith(b"%PDF") and card(client, number).data.startswith(b"%PDF")
    with station_app.app_context():
        assert sorted(store.names()) == before
