"""Fault: the SMS gateway fails or times out while a signature code is on its way. The real HTTP
adapter talks to a carrier on 127.0.0.1 that takes the request and never answers (a timeout) or
hangs up half-way through its answer; the sandbox's own timeout trigger too. The outbox keeps the
message and tries again after OUTBOX_RETRY_MINUTES; once the carrier answers the code goes out
once, and it still signs the order. Rows (sms_message) and the carrier's requests are counted."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from sqlalchemy import func, select

from models import Delivery, Order, OrderStatus, SmsMessage
from models.base import utcnow
from notifications.gateways import HttpSmsGateway, SandboxSmsGateway
from notifications.interfaces import SmsGateway
from tests.conftest import sms_code_in
from tests.faults.misbehaving_service import ANSWER, CUT_SHORT, SILENT, misbehaving_service

PHONE = "13912345678"


@pytest.fixture
def carrier(replace_service):
    """The carrier behind the real HTTP adapter, with a short timeout (production's is 5 s)."""
    with misbehaving_service(json.dumps({"ok": True, "id": "carrier-1"}).encode(), path="/send") as (url, service):
        replace_service(SmsGateway, HttpSmsGateway(url, "sms key", timeout=0.3))
        yield service


@pytest.fixture
def materials_in(client, order_number, upload_all):
    upload_all(order_number)
    assert client.post(f"/apply/{order_number}/materials/done").status_code == 302
    return order_number


def _messages(session) -> list[SmsMessage]:
    session.expire_all()
    return session.scalars(select(SmsMessage).where(SmsMessage.phone == PHONE)).all()


@pytest.mark.parametrize("failure", [SILENT, CUT_SHORT])
def test_a_code_the_carrier_did_not_take_is_sent_again_once_and_still_signs(
        client, materials_in, db_session, carrier, worker_round, latest_sms, billing_services, failure):
    before = len(_messages(db_session))
    page = client.post(f"/apply/{materials_in}/signature/code?lang=en", follow_redirects=True)
    assert "A code was sent to the agent&#39;s phone." in page.get_data(as_text=True)
    [message] = _messages(db_session)[before:]
    assert message.status is Delivery.QUEUED

    carrier.mode = failure
    worker_round()  # the carrier times out, or hangs up half-way: not delivered
    [message] = _messages(db_session)[before:]
    assert (message.status, message.attempts, message.sent_at) == (Delivery.QUEUED, 1, None)
    assert message.next_attempt_at > utcnow() + dt.timedelta(minutes=1)  # OUTBOX_RETRY_MINUTES: 2 minutes on
    assert carrier.answered() == 0 and len(carrier.received) == 1
    worker_round()  # not due yet: the carrier is not asked again at once
    assert len(carrier.received) == 1

    carrier.mode = ANSWER
    with time_machine.travel(utcnow() + dt.timedelta(minutes=2, seconds=1)):
        worker_round()
        [message] = _messages(db_session)[before:]
        assert (message.status, message.attempts, message.provider_ref) == (Delivery.SENT, 2, "carrier-1")
        worker_round()
        assert carrier.answered() == 1 and len(carrier.received) == 2  # delivered once, no second message
        assert len(_messages(db_session)) == before + 1
        signed = client.post(f"/apply/{materials_in}/signature",
                             data={"sms_code": sms_code_in(latest_sms(PHONE))})
        assert signed.headers["Location"].endswith(f"/apply/{materials_in}/pay")
        assert db_session.scalar(select(Order.status).where(Order.number == materials_in)) \
            is OrderStatus.AWAITING_PAYMENT


def test_the_sandbox_times_out_for_numbers_ending_in_8888(
        client, apply, upload_all, db_session, worker_round, replace_service):
    replace_service(SmsGateway, SandboxSmsGateway(delay_seconds=0.05))
    response = apply(agent_phone="13912348888")
    number = response.headers["Location"].rsplit("/", 1)[-1]
    upload_all(number)
    client.post(f"/apply/{number}/materials/done")
    client.post(f"/apply/{number}/signature/code")
    worker_round()
    db_session.expire_all()
    [message] = db_session.scalars(select(SmsMessage).where(SmsMessage.phone == "13912348888")).all()
    assert (message.status, message.attempts, message.sent_at) == (Delivery.QUEUED, 1, None)
    assert message.error == "sandbox: gateway unreachable: timed out"
    assert db_session.scalar(select(func.count()).select_from(SmsMessage).where(
        SmsMessage.phone == "13912348888")) == 1
