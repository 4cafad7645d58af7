"""Information change (信息变更) of a personal certificate (个人数字证书): the holder identified by the key login
or by their ID and the SMS code to their phone on file (the same answer for an ID without a certificate);
a change of contact data completes once paid, with no documents nor review; a change of name goes through
the ID card, the personal queue and two senior reviewers, then the key helper writes a certificate with the
new name on the same key."""
from __future__ import annotations

import datetime as dt
import re

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import object_session

from documents.materials import current_materials
from models import (
    BusinessType,
    Certificate,
    CertificateStatus,
    HelperSession,
    Order,
    OrderStatus,
    ReviewQueue,
    SmsCode,
    StaffRole,
)
from notifications.outbox import latest_for
from protocol import helper as protocol
from tests import factories
from tests.conftest import sms_code_in, solve_captcha
from tests.factories import resident_id
from tests.public.key_helper.fake_helper import FakeHelper
from tests.public.key_helper.pages import form_values, status
from tests.public.key_helper.test_personal_renewal import NAME, personal_key, sign_and_pay, subject_of
from tests.review.approvals import approve

NEW_NAME = "李新名"


def key_page_id(response) -> str:
    return re.search(r"/key/(\w+)$", response.headers["Location"]).group(1)


def order_read(committed, number: str, read):
    return committed(lambda s: read(s.scalars(select(Order).where(Order.number == number)).one()))


def test_a_contact_change_by_key_login_needs_no_documents_nor_review(station_app, client, committed, key_in_use):
    earlier_number, phone, key, pem, private = personal_key(station_app, committed, key_in_use)
    helper_id = key_page_id(client.get("/c/direct/change/key"))
    helper = FakeHelper(client, key, pem, private)
    helper.pair(status(client, helper_id)["code"])
    assert helper.login(helper.task()).status_code == 200
    assert status(client, helper_id)["next"] == f"/change/key/{helper_id}/form"

    form_url = f"/change/key/{helper_id}/form?lang=en"
    page = client.get(form_url).get_data(as_text=True)
    assert f'value="{NAME}"' in page and "Not changeable: another ID is another person" in page
    assert "Legal representative" not in page and "Unified social credit code" not in page
    values = form_values(page) | {"consent": "y"}
    assert "id_number" not in values and "agent_name" not in values  # the ID is shown, not sent
    refused = client.post(form_url, data=values).get_data(as_text=True)
    assert 'id="nothing-changed"' in refused

    typed = client.post(form_url, data={**values, "holder_phone": "1234", "mailing_address": "新地址 2 号"})
    assert 'data-error-for="holder_phone"' in typed.get_data(as_text=True)
    assert 'value="新地址 2 号"' in typed.get_data(as_text=True)  # what was typed is kept
    assert client.post(form_url, data={**values, "mailing_address": "新地址 2 号"}).status_code == 302
    confirm = client.get(f"/change/key/{helper_id}/confirm?lang=en").get_data(as_text=True)
    changed = [row for row in confirm.split("<tr") if 'class="changed"' in row]
    assert len(changed) == 1 and "新地址 2 号" in changed[0] and "郑州市金水区花园路2号" in changed[0]
    assert 'id="return-to-edit"' in confirm

    made = client.post(f"/change/key/{helper_id}/confirm")
    number = committed(lambda s: s.scalars(select(HelperSession).where(HelperSession.public_id == helper_id))
                       .one().order.number)
    assert made.headers["Location"].endswith(f"/apply/{number}/signature")  # no documents
    sign_and_pay(station_app, client, committed, number, phone)
    assert order_read(committed, number, lambda o: (
        o.business_type, o.status, o.queue, o.organisation_id, o.holder.name, o.mailing_address,
        o.previous_order.number)) == (BusinessType.INFO_CHANGE, OrderStatus.COMPLETED, None, None, NAME, "新地址 2 号",
                                      earlier_number)
    assert helper.task() is None  # no new certificate: nothing in it changed


def ask_code(client, id_number: str):
    solved = solve_captcha(client, "/c/direct/change")
    return client.post("/c/direct/change/personal-code?lang=en",
                       data={"id_type": "resident_id", "id_number": id_number, **solved}, follow_redirects=True)


def test_the_id_and_sms_identity_answers_alike_for_an_id_without_a_certificate(station_app, client, committed,
                                                                               key_in_use):
    earlier_number, phone, *_ = personal_key(station_app, committed, key_in_use)
    id_number = order_read(committed, earlier_number, lambda o: o.holder.id_number)
    start = client.get("/c/direct/change?lang=en").get_data(as_text=True)
    assert 'id="change-personal-code-form"' in start
    known = ask_code(client, id_number).get_data(as_text=True)
    sent = committed(lambda s: s.scalars(select(SmsCode).where(SmsCode.phone == phone)).all())
    assert len(sent) == 1
    unknown = ask_code(client, resident_id(999)).get_data(as_text=True)
    said = re.compile(r"If this ID has a personal certificate in force[^<]*")
    assert said.search(known).group() == said.search(unknown).group()
    assert phone[-4:] not in known and id_number not in known  # nothing of the holder before the code
    invalid = client.post("/c/direct/change/personal-code?lang=en",
                          data={"id_type": "resident_id", "id_number": "410101199001011234",
                                **solve_captcha(client, "/c/direct/change")}).get_data(as_text=True)
    assert 'data-error-for="id_number"' in invalid and 'value="410101199001011234"' in invalid


def test_a_name_change_is_reviewed_in_the_personal_queue_then_the_key_gets_the_new_name(
        station_app, client, committed, key_in_use, upload_all, worker_round_station):
    earlier_number, phone, key, pem, private = personal_key(station_app, committed, key_in_use)
    id_number = order_read(committed, earlier_number, lambda o: o.holder.id_number)
    serial = committed(lambda s: s.scalars(select(Certificate.serial_number).join(
        Order, Order.id == Certificate.order_id).where(Order.number == earlier_number)).one())
    committed(lambda s: [setattr(c, "created_at", c.created_at - dt.timedelta(minutes=2))
                         for c in s.scalars(select(SmsCode))])  # earlier tests' codes do not hold this one back
    ask_code(client, id_number)
    verified = client.post("/c/direct/change/verify",
                           data={"sms_code": sms_code_in(committed(lambda s: latest_for(s, phone).text))})
    assert verified.headers["Location"].endswith("/change/certificates")
    listing = client.get("/change/certificates?lang=en").get_data(as_text=True)
    assert NAME in listing and f"/change/certificates/{serial}/form" in listing

    values = form_values(client.get(f"/change/certificates/{serial}/form").get_data(as_text=True))
    client.post(f"/change/certificates/{serial}/form", data={**values, "consent": "y", "holder_name": NEW_NAME})
    confirm = client.get(f"/change/certificates/{serial}/confirm?lang=en").get_data(as_text=True)
    changed = [row for row in confirm.split("<tr") if 'class="changed"' in row]
    assert len(changed) == 1 and NAME in changed[0] and NEW_NAME in changed[0]
    made = client.post(f"/change/certificates/{serial}/confirm", data={"key_work": "helper"})
    number = made.headers["Location"].split("/")[2]
    assert made.headers["Location"].endswith(f"/apply/{number}/materials")  # the ID card first
    upload_all(number)
    assert client.post(f"/apply/{number}/materials/done").status_code == 302
    sign_and_pay(station_app, client, committed, number, phone)
    assert order_read(committed, number, lambda o: (o.status, o.queue, sorted(
        kind.value for kind in current_materials(object_session(o), o)))) == (
        OrderStatus.PAID, ReviewQueue.PERSONAL, ["agent_id_back", "agent_id_front"])

    def review(session):
        order = session.scalars(select(Order).where(Order.number == number)).one()
        first, second = (factories.staff(session, StaffRole.SENIOR_REVIEWER, f"{name}-{number[-6:]}")
                         for name in ("senior1", "senior2"))
        approve(session, order, first)
        one = order.status
        approve(session, order, second)
        return one, order.status
    assert committed(review) == (OrderStatus.PAID, OrderStatus.APPROVED)  # two senior reviewers

    helper_id = key_page_id(client.post(f"/apply/{number}/key"))
    helper = FakeHelper(client, key, pem, private)
    helper.pair(status(client, helper_id)["code"])
    task = helper.task()  # no key login: the order names the certificate, whose key this is
    assert task.kind is protocol.TaskKind.RENEW and ["2.5.4.3", NEW_NAME] in task.renew.subject
    new_pem = helper.renew(task)
    worker_round_station()
    new_subject, old_subject = dict(subject_of(new_pem)), dict(subject_of(pem))
    assert new_subject["2.5.4.3"] == NEW_NAME and new_subject["2.5.4.5"] == old_subject["2.5.4.5"]  # the same ID

    def read(session):
        order = session.scalars(select(Order).where(Order.number == number)).one()
        new = session.scalars(select(Certificate).where(Certificate.order_id == order.id)).one()
        return order.status, new.media_serial, session.get(Certificate, order.certificate_id).status
    assert committed(read) == (OrderStatus.COMPLETED, key, CertificateStatus.SUPERSEDED)
    assert x509.load_pem_x509_certificate(new_pem.encode()).subject.rfc4514_string().count(NEW_NAME) == 1
