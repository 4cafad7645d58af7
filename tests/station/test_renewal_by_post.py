"""Renewal by post (the key mailed in): the order query's 更新 opens a choice (the key at this PC, or by
post); by post, the renewal form, its confirmation, the signature and the payment make an order the
station programs on the applicant's own key, with a new key password sent on approval; the key goes
back to the applicant and the earlier certificate is to be superseded. The back office with a fake
agent (tests/station/fake_agent.py); the real agent on SoftHSM2 is in test_programming.py."""
from __future__ import annotations

import datetime as dt

import pkcs11
import pytest
from pkcs11.exceptions import PinIncorrect
from sqlalchemy import select

from billing.services import current_services
from models import (
    BusinessType,
    Certificate,
    CertificateStatus,
    JobStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    ProgrammingJob,
    SmsMessage,
    StaffRole,
    Station,
    Token,
    TokenState,
)
from models.base import utcnow
from models.business import SUPERSEDE_CERTIFICATE
from models.work import WorkItem
from notifications.outbox import latest_for
from public import renewal
from review.operations import enqueue_paid_order
from tests.conftest import add_staff, sign_in, sms_code_in
from tests.public.key_helper.conftest import key_in_use  # noqa: F401  (a key programmed, shipped, in use)
from tests.public.key_helper.test_api import form_values
from tests.public.test_order_query import ask
from tests.softhsm import MODULE
from tests.station import live
from tests.station.conftest import order_of
from tests.station.fake_agent import FakeAgent
from tests.station.live import wait_for
from tests.station.test_programming import (
    check_pins,
    job_state,
    open_token,
    plugged_key,
    start,
    status_is,
    token_objects,
)
from tests.station.test_shipping import card, courier_id


def earlier_of(committed, key: str) -> tuple[str, str, str]:
    """(order number, credit code, agent phone) of the order whose certificate is on `key`."""
    def read(session):
        certificate = session.scalars(select(Certificate).where(Certificate.media_serial == key)).one()
        order = session.get(Order, certificate.order_id)
        return order.number, order.organisation.credit_code, order.agent.phone
    return committed(read)


def verify(client, committed, credit_code: str, phone: str) -> str:
    """The order query with its SMS code: the results page."""
    client.get("/query?lang=en")
    assert ask(client, credit_code, phone).headers["Location"].endswith("/query/verify")
    sms = committed(lambda s: latest_for(s, phone).text)
    answer = client.post("/query/verify", data={"sms_code": sms_code_in(sms)})
    assert answer.headers["Location"].endswith("/query/results")
    return client.get("/query/results?lang=en").get_data(as_text=True)


def renewal_of(committed, number: str) -> str:
    return committed(lambda s: s.scalars(select(Order.number).where(
        Order.business_type == BusinessType.RENEWAL, Order.previous_order_id == order_of(s, number).id)).one())


def test_the_choice_needs_the_order_query_and_a_renewable_certificate(client, committed, key_in_use):  # noqa: F811
    key, _, _ = key_in_use(days_left=30)
    number, credit_code, phone = earlier_of(committed, key)
    assert client.get(f"/renewal/orders/{number}").headers["Location"].endswith("/query")  # no SMS code yet
    later, later_code, later_phone = earlier_of(committed, key_in_use(days_left=200)[0])

    results = verify(client, committed, credit_code, phone)
    assert f'href="/renewal/orders/{number}"' in results
    choice = client.get(f"/renewal/orders/{number}?lang=en")
    assert choice.headers["Cache-Control"] == "private, no-store"
    page = choice.get_data(as_text=True)
    assert 'href="/c/direct/renewal"' in page and f'href="/renewal/orders/{number}/form"' in page
    assert "The key password changes" in page and "By SMS to the legal representative" in page
    assert client.get(f"/renewal/orders/{later}").status_code == 404  # not this ID's order
    assert client.get(f"/renewal/orders/{later}/form").status_code == 404

    assert f'href="/renewal/orders/{later}"' not in verify(client, committed, later_code, later_phone)
    refused = client.get(f"/renewal/orders/{later}/form?lang=en")  # 200 days left: not in the renewal window
    assert refused.headers["Location"].endswith("/query/results")
    assert f"Order {later} has no certificate to renew now." in client.get("/query/results?lang=en").get_data(
        as_text=True)


def test_a_renewal_by_post_from_the_order_query_to_the_key_mailed_back(station_app, client, committed,
                                                                       key_in_use, station_credential,  # noqa: F811
                                                                       worker_round_station):
    key, _, _ = key_in_use(days_left=30)
    other_key, _, _ = key_in_use(days_left=30)
    number, credit_code, phone = earlier_of(committed, key)
    verify(client, committed, credit_code, phone)

    form = client.get(f"/renewal/orders/{number}/form?lang=en").get_data(as_text=True)
    assert f'action="/renewal/orders/{number}/form"' in form and 'id="by-post-notice"' in form
    values = form_values(form)
    values.update(consent="y", seal_services="personal_seal", agent_name="")
    rejected = client.post(f"/renewal/orders/{number}/form?lang=en", data=values)
    assert rejected.status_code == 200 and "This field is required." in rejected.get_data(as_text=True)
    values["agent_name"] = "邮寄续"
    assert client.post(f"/renewal/orders/{number}/form", data=values).headers["Location"].endswith(
        f"/renewal/orders/{number}/confirm")
    confirm = client.get(f"/renewal/orders/{number}/confirm?lang=en").get_data(as_text=True)
    assert "邮寄续" in confirm and f'href="/renewal/orders/{number}/form" id="return-to-edit"' in confirm
    made = client.post(f"/renewal/orders/{number}/confirm")
    renewal = made.headers["Location"].split("/")[2]
    assert made.headers["Location"].endswith(f"/apply/{renewal}/signature")

    def facts(session):
        order, earlier = order_of(session, renewal), order_of(session, number)
        return (order.business_type, order.key_work, order.status, order.previous_order_id == earlier.id,
                order.certificate.media_serial, order.seal_services)
    assert committed(facts) == (BusinessType.RENEWAL, "station", OrderStatus.AWAITING_SIGNATURE, True, key,
                                ["personal_seal"])
    assert client.get(f"/renewal/orders/{number}?lang=en").headers["Location"].endswith("/query/results")  # once

    client.post(f"/apply/{renewal}/signature/code")
    sms = committed(lambda s: latest_for(s, phone).text)
    assert client.post(f"/apply/{renewal}/signature", data={"sms_code": sms_code_in(sms)}).status_code == 302
    assert "200.00" in client.get(f"/apply/{renewal}/pay").get_data(as_text=True)
    with station_app.app_context():
        current_services().provider.pay(renewal)
    assert client.get(f"/apply/{renewal}/pay/status").get_json()["waiting"] is False

    def approval(session):
        order = order_of(session, renewal)
        sent = session.scalars(select(SmsMessage.template).where(SmsMessage.order_id == order.id)).all()
        return order.status, order.certificate_password, "certificate_password" in sent
    status, password, password_sent = committed(approval)
    assert status is OrderStatus.APPROVED and password and password_sent  # a new password, sent as a new key's
    done = client.get(f"/apply/{renewal}/done?lang=en").get_data(as_text=True)
    assert "Mail the key to" in done and renewal in done and "The key password changes" in done

    # The station: the order is in its queue; another order's key is refused, the applicant's own taken.
    assert renewal in client.get("/console/station/").get_data(as_text=True)
    name, credential = station_credential
    mailed = [{"serial": serial, "label": "", "model": "SoftHSM v2", "blank": False} for serial in (key, other_key)]
    agent = FakeAgent(client, credential, mailed)
    agent.poll()
    claimed = client.post(f"/console/station/orders/{renewal}/claim")
    public_id = claimed.headers["Location"].rsplit("/", 1)[-1]
    job_page = client.get(f"/console/station/jobs/{public_id}").get_data(as_text=True)
    assert f'value="{key}"' in job_page and f'value="{other_key}"' not in job_page  # only its own key offered
    station_id = committed(lambda s: s.scalars(select(Station.id).where(Station.name == name)).one())
    client.post(f"/console/station/jobs/{public_id}/start", data={"station": station_id, "serial": other_key})
    assert committed(lambda s: s.scalars(select(ProgrammingJob.media_serial).where(
        ProgrammingJob.public_id == public_id)).one()) is None  # refused
    assert client.post(f"/console/station/jobs/{public_id}/start",
                       data={"station": station_id, "serial": key}).status_code == 302

    so_pin = committed(lambda s: s.scalars(select(Token).where(Token.serial == key)).one().so_pin)
    job = agent.job()
    assert job.media_serial == key and job.user_pin == password and so_pin in job.current_so_pins
    assert agent.run(job).status_code == 200

    def programmed(session):
        order = order_of(session, renewal)
        token = session.scalars(select(Token).where(Token.serial == key)).one()
        new = session.scalars(select(Certificate).where(Certificate.order_id == order.id)).one()
        queued = session.scalars(select(WorkItem.kind).where(WorkItem.subject_id == order.id)).all()
        return (order.status, token.order_id == order.id, token.state, token.renewals, new.media_serial,
                new.status, SUPERSEDE_CERTIFICATE in queued)
    assert committed(programmed) == (OrderStatus.PROGRAMMED, True, TokenState.PROGRAMMED, 1, key,
                                     CertificateStatus.VALID, True)
    worker_round_station()  # the signing service supersedes the earlier certificate
    assert committed(lambda s: order_of(s, renewal).certificate.status) is CertificateStatus.SUPERSEDED

    card(client, renewal)
    assert client.post(f"/console/station/orders/{renewal}/ship",
                       data={"courier": courier_id(committed), "tracking_number": f"SF{key[:12]}"}).status_code == 302
    assert committed(lambda s: order_of(s, renewal).status) is OrderStatus.SHIPPED

    reviewer = client.application.test_client()
    sign_in(reviewer, committed(lambda s: add_staff(s, StaffRole.REVIEWER)))
    console = reviewer.get(f"/console/orders/{renewal}?lang=en").get_data(as_text=True)
    assert "Key work: at the station (mailed in)" in console


@pytest.fixture
def worker_round_station(station_app):
    from tests import factories
    return lambda: factories.worker_round(station_app)


# --- the real agent on SoftHSM2 --------------------------------------------------------------------------

live_url, live_station = live.live_url, live.live_station  # the fixtures of tests/station/live.py


def in_use_with_renewal_by_post(committed, number: str) -> str:
    """The order's key delivered, its certificate 30 days from its end; then a renewal by post of it,
    signed, paid and approved (review.operations.enqueue_paid_order): the renewal's number."""
    def work(session):
        earlier = order_of(session, number)
        certificate = session.scalars(select(Certificate).where(Certificate.order_id == earlier.id)).one()
        token = session.scalars(select(Token).where(Token.serial == certificate.media_serial)).one()
        for state in (TokenState.SHIPPED, TokenState.ACTIVE):
            token.move_to(state, "staff:test")
        for status in (OrderStatus.SHIPPED, OrderStatus.COMPLETED):
            earlier.move_to(status, "staff:test")
        certificate.not_after = utcnow() + dt.timedelta(days=30)
        order = renewal.submit_renewal_by_post(session, earlier, certificate, renewal.contact_values(earlier),
                                               actor="applicant:test", applicant_secret="test")
        order.move_to(OrderStatus.AWAITING_PAYMENT, "applicant:test")
        session.add(Payment(order_id=order.id, provider="sandbox", out_trade_no=order.number,
                            amount_cents=order.price_cents, status=PaymentStatus.PAID, trade_no=f"2088{order.number}",
                            paid_at=utcnow()))
        order.move_to(OrderStatus.PAID, "applicant:test")
        enqueue_paid_order(session, order)
        return order.number
    return committed(work)


def test_the_real_agent_renews_a_key_mailed_in(live_station, station_app, client, committed, fulfillment, approved,
                                               monkeypatch):
    monkeypatch.setitem(station_app.config, "PASSWORD_CARD_PRINTS_PIN", True)  # the PIN is read back from the order
    agent = live_station.agents.start()
    _label, serial = plugged_key(live_station, committed, agent)
    first = start(client, committed, live_station.name, approved(), serial)
    wait_for(status_is(committed, first, JobStatus.DONE), what="the new key's job to be done")
    number = job_state(committed, first)["order"]
    old_password = committed(lambda s: order_of(s, number).certificate_password)
    old_der = committed(lambda s: s.scalars(select(Certificate.der).where(Certificate.media_serial == serial)).one())

    renewed = in_use_with_renewal_by_post(committed, number)
    password = committed(lambda s: order_of(s, renewed).certificate_password)
    assert password and password != old_password
    job = start(client, committed, live_station.name, renewed, serial)  # the key mailed in, plugged in
    wait_for(status_is(committed, job, JobStatus.DONE), what="the renewal's job to be done")
    assert agent.stop() == 0, agent.output

    state = job_state(committed, job)
    new_der = committed(lambda s: s.scalars(select(Certificate.der).where(
        Certificate.order_id == order_of(s, renewed).id)).one())
    key_id = bytes.fromhex(state["key_id"])
    on_token = token_objects(serial, password)
    assert [cid for cid, _ in on_token["private"]] == [key_id] and on_token["public"] == [key_id]
    assert [der for cid, der in on_token["certificates"] if cid == key_id] == [new_der]
    assert old_der not in [der for _, der in on_token["certificates"]]  # re-initialised: only the new one
    check_pins(serial, password, state["so_pin"])
    with pytest.raises(PinIncorrect):
        open_token(serial).open(user_pin=old_password)
    pkcs11.lib(MODULE).reinitialize()

    def after(session):
        order = order_of(session, renewed)
        queued = session.scalars(select(WorkItem.kind).where(WorkItem.subject_id == order.id)).all()
        token = session.scalars(select(Token).where(Token.serial == serial)).one()
        return order.status, order.key_work, token.order_id == order.id, SUPERSEDE_CERTIFICATE in queued
    assert committed(after) == (OrderStatus.PROGRAMMED, "station", True, True)
