"""Renewal (更新) of a personal certificate (个人数字证书) with the key helper (the fake one: software keys):
the key login identifies the certificate, the form shows the holder as on file, the holder signs and pays,
and the new certificate names the same person (the same CN and serialNumber) on the same key; by post, the
order waits in the station's queue."""
from __future__ import annotations

from cryptography import x509
from sqlalchemy import select

from billing.services import current_services
from models import BusinessType, Certificate, CertificateStatus, Order, OrderStatus
from notifications.outbox import latest_for
from protocol import helper as protocol
from station import queue
from tests.conftest import sms_code_in
from tests.personal_orders import approved_personal_order
from tests.public.key_helper.fake_helper import FakeHelper
from tests.public.key_helper.pages import form_values, open_renewal
from tests.public.test_order_query import ask

NAME = "李个人"


def personal_key(station_app, committed, key_in_use, *, name: str = NAME, days_left: int = 30):
    """(order number, holder's phone, key serial, certificate PEM, private key) of a personal certificate in use."""
    def make(session):
        order = approved_personal_order(session, station_app.config["UPLOAD_FOLDER"], name=name)
        return order.number, order.holder.phone
    number, phone = committed(make)
    key, pem, private = key_in_use(days_left=days_left, number=number)
    return number, phone, key, pem, private


def sign_and_pay(station_app, client, committed, number: str, phone: str) -> None:
    client.post(f"/apply/{number}/signature/code")
    code = sms_code_in(committed(lambda s: latest_for(s, phone).text))
    assert client.post(f"/apply/{number}/signature", data={"sms_code": code}).status_code == 302
    client.get(f"/apply/{number}/pay")
    with station_app.app_context():
        current_services().provider.pay(number)
    assert client.get(f"/apply/{number}/pay/status").get_json()["waiting"] is False


def subject_of(pem: str) -> list[tuple[str, str]]:
    return [(a.oid.dotted_string, a.value) for a in x509.load_pem_x509_certificate(pem.encode()).subject]


def test_a_personal_renewal_shows_the_holder_and_makes_the_same_person_s_certificate_on_the_key(
        station_app, client, committed, key_in_use, worker_round_station):
    earlier_number, phone, key, pem, private = personal_key(station_app, committed, key_in_use)
    public_id, code = open_renewal(client)
    helper = FakeHelper(client, key, pem, private)
    helper.pair(code)
    assert helper.login(helper.task()).status_code == 200

    form = client.get(f"/renewal/{public_id}/form?lang=en").get_data(as_text=True)
    assert "Certificate holder" in form and NAME in form and "Organisation" not in form
    id_number = committed(lambda s: s.scalars(select(Order).where(Order.number == earlier_number)).one()
                          .holder.id_number)
    assert id_number not in form and f"{id_number[:4]}" in form  # the ID masked
    assert "Personal seal (handwritten signature)" in form and "200.00" in form  # the personal product's price
    values = form_values(form)
    assert values["holder_phone"] == phone and "agent_name" not in values
    values.update(consent="y", seal_services="handwritten_signature", holder_email="")
    rejected = client.post(f"/renewal/{public_id}/form?lang=en", data=values)
    assert rejected.status_code == 200 and 'data-error-for="holder_email"' in rejected.get_data(as_text=True)
    values["holder_email"] = "li.renewed@example.cn"
    assert client.post(f"/renewal/{public_id}/form", data=values).headers["Location"].endswith("/confirm")
    confirm = client.get(f"/renewal/{public_id}/confirm?lang=en").get_data(as_text=True)
    assert "li.renewed@example.cn" in confirm and NAME in confirm and 'id="return-to-edit"' in confirm

    number = client.post(f"/renewal/{public_id}/confirm").headers["Location"].split("/")[2]
    assert number[8] == "P"  # a personal order's number
    sign_and_pay(station_app, client, committed, number, phone)

    def made(session):
        order = session.scalars(select(Order).where(Order.number == number)).one()
        return (order.status, order.business_type, order.organisation_id, order.legal_rep_id, order.account_number,
                order.invoice_taxpayer_id, order.holder.name, order.holder.email, order.holder.id_number,
                order.previous_order.number, order.seal_services, order.price_cents)
    status, business_type, *no_unit, name, email, holder_id, previous, seals, price = committed(made)
    assert (status, business_type) == (OrderStatus.APPROVED, BusinessType.RENEWAL)  # no review
    assert no_unit == [None] * 4 and (name, email, holder_id) == (NAME, "li.renewed@example.cn", id_number)
    assert (previous, seals, price) == (earlier_number, ["handwritten_signature"], 20000)

    task = helper.task()
    assert task.kind is protocol.TaskKind.RENEW and task.renew.media_serial == key
    new_pem = helper.renew(task)
    assert helper.poll().over
    worker_round_station()
    assert subject_of(new_pem) == subject_of(pem)  # the same CN and serialNumber
    assert ("2.5.4.3", NAME) in subject_of(new_pem) and not any(value == id_number for _, value in subject_of(pem))

    def read(session):
        order = session.scalars(select(Order).where(Order.number == number)).one()
        new = session.scalars(select(Certificate).where(Certificate.order_id == order.id)).one()
        return order.status, new.media_serial, session.get(Certificate, order.certificate_id).status
    assert committed(read) == (OrderStatus.COMPLETED, key, CertificateStatus.SUPERSEDED)


def test_a_personal_renewal_by_post_waits_in_the_station_s_queue(station_app, client, committed, key_in_use):
    earlier_number, phone, *_ = personal_key(station_app, committed, key_in_use)
    id_number = committed(lambda s: s.scalars(select(Order).where(Order.number == earlier_number)).one()
                          .holder.id_number)
    ask(client, id_number, phone, cert_kind="personal", id_type="resident_id")
    code = sms_code_in(committed(lambda s: latest_for(s, phone).text))
    assert client.post("/query/verify", data={"sms_code": code}).status_code == 302
    choice = client.get(f"/renewal/orders/{earlier_number}?lang=en").get_data(as_text=True)
    assert NAME in choice and 'id="renew-by-post"' in choice
    form = client.get(f"/renewal/orders/{earlier_number}/form?lang=en").get_data(as_text=True)
    values = form_values(form) | {"consent": "y", "seal_services": "personal_seal"}
    assert client.post(f"/renewal/orders/{earlier_number}/form", data=values).status_code == 302
    number = client.post(f"/renewal/orders/{earlier_number}/confirm").headers["Location"].split("/")[2]
    sign_and_pay(station_app, client, committed, number, phone)

    def read(session):
        order = session.scalars(select(Order).where(Order.number == number)).one()
        return (order.status, order.key_work, bool(order.certificate_password),
                number in [o.number for o in queue.waiting_orders(session, limit=200)])
    assert committed(read) == (OrderStatus.APPROVED, "station", True, True)
