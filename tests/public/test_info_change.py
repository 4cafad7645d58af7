"""Information change (信息变更) online: identity by the key login or by the credit code and the SMS code
to the phone on file; the form, its confirmation with 'return to edit'; a contact change approved once
paid, a name change through documents, signature, payment and two senior reviewers; the new certificate's
key work handed to the key helper (through /helper/api/v1, as the helper calls it).

The end-to-end runs stop at the RENEW task with the new subject, the order PROGRAMMING: issuing the
certificate of an information change is the signing service's (another branch)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from models import (
    BusinessType,
    Certificate,
    HelperPurpose,
    HelperSession,
    Order,
    OrderStatus,
    ReviewQueue,
    SmsCode,
    StaffRole,
    Token,
    TokenState,
)
from models.base import utcnow
from protocol import helper as protocol
from public import info_change
from station import queue
from tests import factories
from tests.conftest import sms_code_in, solve_captcha
from tests.review.approvals import approve

MEDIA = "UK-CHANGE-0001"
SERIAL = "c4" * 16
NEW_NAME = "郑州新名称科技有限公司"


@pytest.fixture
def holder(app, db_session):
    """An organisation's completed order, its certificate (a real one, of `key`) on its key: (order number,
    credit code, agent phone, key, certificate PEM), committed."""
    key = ec.generate_private_key(ec.SECP256R1())
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    for status in (OrderStatus.IN_REVIEW, OrderStatus.APPROVED, OrderStatus.PROGRAMMING, OrderStatus.PROGRAMMED,
                   OrderStatus.SHIPPED, OrderStatus.COMPLETED):
        order.move_to(status, "test")
    now = utcnow()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, order.organisation.name)])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(int(SERIAL, 16)).not_valid_before(now - dt.timedelta(days=30))
                   .not_valid_after(now + dt.timedelta(days=335)).sign(key, hashes.SHA256()))
    der = certificate.public_bytes(serialization.Encoding.DER)
    factories.registered_certificate(db_session, order, SERIAL, der=der, key_type="ec_p256", media_serial=MEDIA)
    db_session.add(Token(serial=MEDIA, model="SoftHSM v2", state=TokenState.ACTIVE, order_id=order.id))
    facts = (order.number, order.organisation.credit_code, order.agent.phone, key,
             certificate.public_bytes(serialization.Encoding.PEM).decode())
    db_session.commit()
    return facts


class Helper:
    """The key helper's calls, as ukey-helper makes them (its key in memory)."""

    def __init__(self, client, key, pem: str):
        self.client, self.key, self.headers = client, key, {}
        self.keys = [{"serial": MEDIA, "label": "", "model": "SoftHSM v2", "user_pin_locked": False,
                      "certificates": [pem]}]

    def post(self, path: str, body: dict):
        return self.client.post(protocol.API + path, json=body, headers=self.headers)

    def pair(self, public_id: str):
        code = self.client.get(f"/key/{public_id}/status").get_json()["code"]
        answer = self.post("/pair", {"code": code, "keys": self.keys})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        self.headers = {"Authorization": f"Bearer {answer.get_json()['credential']}"}

    def poll(self) -> protocol.Task | None:
        answer = self.post("/poll", {"keys": self.keys, "running_task": None, "wait": 0})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return protocol.poll_answer_from_json(answer.get_json()).task

    def login(self):
        task = self.poll()
        assert task.kind is protocol.TaskKind.LOGIN
        signature = self.key.sign(bytes.fromhex(task.login.challenge), ec.ECDSA(hashes.SHA256())).hex()
        assert self.post(f"/tasks/{task.task_id}/login", {"signature": signature, "wrong_pins": []}).status_code == 200


def key_page_id(response) -> str:
    return re.search(r"/key/(\w+)$", response.headers["Location"]).group(1)


def logged_in(client, holder) -> tuple[str, Helper]:
    """The key login: the key page's public id (its next page the change form), and its helper."""
    helper_id = key_page_id(client.get("/c/direct/change/key"))
    helper = Helper(client, holder[3], holder[4])
    helper.pair(helper_id)
    helper.login()
    assert client.get(f"/key/{helper_id}/status").get_json()["next"] == f"/change/key/{helper_id}/form"
    return helper_id, helper


def form_values(db_session, number: str, **changes) -> dict:
    """The certificate's order's values, as the form is prefilled, with `changes` and the consent."""
    earlier = db_session.scalar(select(Order).where(Order.number == number))
    values = {k: v for k, v in info_change.form_values(earlier).items() if k != "seal_services"}
    return {**values, "consent": "y", **changes}


def order_of(db_session, helper_id: str | None = None, number: str | None = None) -> Order:
    db_session.expire_all()
    if helper_id is not None:
        return db_session.scalar(select(HelperSession).where(HelperSession.public_id == helper_id)).order
    return db_session.scalar(select(Order).where(Order.number == number))


def sign_and_pay(client, db_session, latest_sms, billing_services, number: str, phone: str) -> None:
    client.post(f"/apply/{number}/signature/code")
    signed = client.post(f"/apply/{number}/signature", data={"sms_code": sms_code_in(latest_sms(phone))})
    assert signed.headers["Location"].endswith(f"/apply/{number}/pay")
    assert 'src="data:image/svg+xml' in client.get(f"/apply/{number}/pay").get_data(as_text=True)
    for notification in billing_services.provider.pay(number):  # the provider's notification of the payment
        assert client.post("/pay/notify", data=notification).status_code == 200
    assert client.get(f"/apply/{number}/pay/status").get_json()["status"] != "awaiting_payment"


def test_the_home_tile_offers_both_identities(client):
    page = client.get("/c/direct/change?lang=en").get_data(as_text=True)
    assert 'id="start-key-login"' in page and 'id="change-code-form"' in page
    assert client.get("/c/direct/services/change").headers["Location"] == "/c/direct/change"


def test_key_login_then_form_prefilled_validated_and_nothing_changed_refused(client, db_session, holder):
    number, credit_code = holder[0], holder[1]
    helper_id, _ = logged_in(client, holder)
    form_url = f"/change/key/{helper_id}/form?lang=en"
    page = client.get(form_url).get_data(as_text=True)
    assert credit_code in page and "a new credit code is another organisation" in page
    values = form_values(db_session, number)
    assert f'value="{values["org_name"]}"' in page and 'value="legal_rep_seal"' in page and "100.00" in page

    refused = client.post(form_url, data=values).get_data(as_text=True)
    assert 'id="nothing-changed"' in refused and "Nothing was changed" in refused

    typed = client.post(form_url, data={**values, "org_name": NEW_NAME, "agent_phone": "1234"})
    page = typed.get_data(as_text=True)
    assert typed.status_code == 200 and 'data-error-for="agent_phone"' in page
    assert f'value="{NEW_NAME}"' in page and 'value="1234"' in page  # what was typed is kept


def test_return_to_edit_keeps_the_values_and_the_confirmation_shows_old_and_new(client, db_session, holder):
    number = holder[0]
    helper_id, _ = logged_in(client, holder)
    values = form_values(db_session, number, agent_email="new-agent@example.cn", seal_services="official_seal")
    to_confirm = client.post(f"/change/key/{helper_id}/form", data=values)
    assert to_confirm.headers["Location"].endswith(f"/change/key/{helper_id}/confirm")
    confirm = client.get(f"/change/key/{helper_id}/confirm?lang=en").get_data(as_text=True)
    assert "Confirm order" in confirm and "Return to edit" in confirm
    changed = [row for row in confirm.split("<tr") if 'class="changed"' in row]
    assert len(changed) == 2 and "new-agent@example.cn" in changed[1] and "Official seal" in changed[0]
    again = client.get(f"/change/key/{helper_id}/form").get_data(as_text=True)
    assert 'value="new-agent@example.cn"' in again
    assert re.search(r'value="official_seal"[^>]*checked|checked[^>]*value="official_seal"', again)
    assert order_of(db_session, helper_id) is None  # no order until confirmed


def test_a_contact_change_needs_no_documents_nor_review_and_keeps_the_certificate(
        client, db_session, holder, latest_sms, billing_services):
    number, phone = holder[0], holder[2]
    helper_id, _ = logged_in(client, holder)
    client.post(f"/change/key/{helper_id}/form", data=form_values(db_session, number, mailing_address="新地址 1 号"))
    made = client.post(f"/change/key/{helper_id}/confirm")
    order = order_of(db_session, helper_id)
    assert made.headers["Location"].endswith(f"/apply/{order.number}/signature")  # no materials to upload
    assert order.business_type is BusinessType.INFO_CHANGE and order.previous_order.number == number
    assert order.certificate.serial_number == SERIAL and order.price_cents == 10000
    change_number = order.number
    sign_and_pay(client, db_session, latest_sms, billing_services, change_number, phone)
    order = order_of(db_session, number=change_number)
    # Approved at once, and done: nothing in the certificate changes, so no new one is made.
    assert order.status is OrderStatus.COMPLETED and order.queue is None
    helper = db_session.scalar(select(HelperSession).where(HelperSession.public_id == helper_id))
    assert helper.task_kind is None  # no key work handed out
    done = client.get(f"/apply/{order.number}/done?lang=en", follow_redirects=True).get_data(as_text=True)
    assert 'id="changed-without-certificate"' in done


def test_a_region_change_makes_a_new_certificate_on_the_same_key_without_review(
        client, db_session, holder, latest_sms, billing_services):
    number, phone = holder[0], holder[2]
    helper_id, helper = logged_in(client, holder)
    client.post(f"/change/key/{helper_id}/form",
                data=form_values(db_session, number, region_province="410000", region_city="410300"))
    client.post(f"/change/key/{helper_id}/confirm")
    change_number = order_of(db_session, helper_id).number
    sign_and_pay(client, db_session, latest_sms, billing_services, change_number, phone)
    assert order_of(db_session, number=change_number).status is OrderStatus.APPROVED
    task = helper.poll()  # the same key page: no key login again
    assert task.kind is protocol.TaskKind.RENEW and task.renew.media_serial == MEDIA
    assert task.renew.certificate_serial == SERIAL and ["2.5.4.7", "洛阳市"] in task.renew.subject
    assert order_of(db_session, number=change_number).status is OrderStatus.PROGRAMMING


def ask_code(client, credit_code: str):
    client.get("/c/direct/change?lang=en")
    solved = solve_captcha(client, "/c/direct/change")
    return client.post("/c/direct/change/code?lang=en", data={"credit_code": credit_code, **solved},
                       follow_redirects=True)


def test_the_sms_identity_answers_alike_for_an_unknown_credit_code(client, db_session, holder):
    known = ask_code(client, holder[1]).get_data(as_text=True)
    for code in db_session.scalars(select(SmsCode)):
        code.created_at -= dt.timedelta(minutes=2)
    db_session.commit()
    unknown = ask_code(client, factories.credit_code(987654)).get_data(as_text=True)
    flash = re.compile(r'If this organisation has a certificate in force[^<]*')
    assert flash.search(known).group() == flash.search(unknown).group()
    assert holder[2][-4:] not in known  # the phone is not shown before the code is right
    assert db_session.scalar(select(SmsCode).where(SmsCode.phone == holder[2])) is not None
    wrong = client.post("/c/direct/change/verify?lang=en", data={"sms_code": "000000"}).get_data(as_text=True)
    assert "The SMS code is wrong or no longer valid" in wrong


def test_a_name_change_by_sms_identity_is_reviewed_by_two_seniors_then_the_key_gets_the_new_subject(
        app, client, db_session, holder, latest_sms, billing_services, upload_all, in_app):
    number, credit_code, phone = holder[0], holder[1], holder[2]
    ask_code(client, credit_code)
    verified = client.post("/c/direct/change/verify", data={"sms_code": sms_code_in(latest_sms(phone))})
    assert verified.headers["Location"].endswith("/change/certificates")
    listing = client.get("/change/certificates?lang=en").get_data(as_text=True)
    assert f"/change/certificates/{SERIAL}/form" in listing and f"{phone[:3]}****{phone[-4:]}" in listing

    client.post(f"/change/certificates/{SERIAL}/form", data=form_values(db_session, number, org_name=NEW_NAME))
    made = client.post(f"/change/certificates/{SERIAL}/confirm")
    change_number = db_session.scalar(select(Order.number).where(Order.business_type == BusinessType.INFO_CHANGE))
    assert made.headers["Location"].endswith(f"/apply/{change_number}/materials")  # the documents first
    upload_all(change_number)
    assert client.post(f"/apply/{change_number}/materials/done").status_code == 302
    sign_and_pay(client, db_session, latest_sms, billing_services, change_number, phone)
    change = order_of(db_session, number=change_number)
    assert change.status is OrderStatus.PAID and change.queue is ReviewQueue.INFO_CHANGE

    first, second = (factories.staff(db_session, StaffRole.SENIOR_REVIEWER, name) for name in ("senior1", "senior2"))
    approve(db_session, change, first)
    assert change.status is OrderStatus.PAID  # one approval is not enough
    assert change.first_approver_id == first.id  # the second must be another senior reviewer
    approve(db_session, change, second)
    assert change.status is OrderStatus.APPROVED
    db_session.commit()

    done = client.get(f"/apply/{change_number}/done?lang=en").get_data(as_text=True)
    assert 'id="open-key-page"' in done
    helper_id = key_page_id(client.post(f"/apply/{change_number}/key"))
    helper = Helper(client, holder[3], holder[4])
    helper.pair(helper_id)
    task = helper.poll()  # no key login: the order names the certificate, whose key this is
    assert task.kind is protocol.TaskKind.RENEW and ["2.5.4.10", NEW_NAME] in task.renew.subject
    assert order_of(db_session, number=change_number).status is OrderStatus.PROGRAMMING


def test_a_key_page_for_an_order_refuses_another_certificate_s_key(app, client, db_session, holder):
    from public import key_helper

    number = holder[0]
    earlier = order_of(db_session, number=number)
    certificate = db_session.scalars(select(Certificate).where(Certificate.order_id == earlier.id)).one()
    change = info_change.submit_change(db_session, certificate, form_values(db_session, number, org_name=NEW_NAME),
                                       actor="test", applicant_secret="s")
    helper, _ = key_helper.open_session(db_session, change.channel, HelperPurpose.INFO_CHANGE, browser_secret="s")
    helper.order = change
    other = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    other.status = OrderStatus.COMPLETED
    factories.registered_certificate(db_session, other, "d5" * 16, media_serial=MEDIA)
    key_helper.seen(db_session, helper, [protocol.key_from_json(
        {"serial": MEDIA, "label": "", "model": "x", "user_pin_locked": False, "certificates": []})])
    helper.keys_seen[0]["certificates"] = ["d5" * 16]
    assert key_helper._identify(db_session, helper) == "not_this_certificate"


def test_the_order_query_s_change_action_leads_to_the_form(client, db_session, holder, latest_sms):
    from tests.public.test_order_query import ask

    credit_code, phone = holder[1], holder[2]
    client.get("/query?lang=en")
    ask(client, credit_code, phone)
    client.post("/query/verify", data={"sms_code": sms_code_in(latest_sms(phone))})
    results = client.get("/query/results?lang=en").get_data(as_text=True)
    assert f'href="/change/certificates/{SERIAL}/form"' in results
    assert client.get(f"/change/certificates/{SERIAL}/form").status_code == 200
    assert client.get(f"/change/certificates/{'00' * 16}/form").status_code == 404


def test_a_change_by_post_goes_to_the_station_with_a_new_key_password(client, db_session, holder, latest_sms,
                                                                      billing_services):
    """Identified by the SMS code, the applicant chooses to mail the key in: a change that makes a new
    certificate is approved with a new key password (the station cannot know the old one) and waits in the
    station's queue; the done page says where to send the key."""
    number, credit_code, phone = holder[0], holder[1], holder[2]
    ask_code(client, credit_code)
    client.post("/c/direct/change/verify", data={"sms_code": sms_code_in(latest_sms(phone))})
    client.post(f"/change/certificates/{SERIAL}/form",
                data=form_values(db_session, number, region_province="410000", region_city="410300"))
    confirm = client.get(f"/change/certificates/{SERIAL}/confirm?lang=en").get_data(as_text=True)
    assert 'id="by-post"' in confirm and "mails the key back with a new key password" in confirm
    client.post(f"/change/certificates/{SERIAL}/confirm", data={"key_work": "station"})
    change_number = db_session.scalar(select(Order.number).where(Order.business_type == BusinessType.INFO_CHANGE))
    assert order_of(db_session, number=change_number).key_work == "station"
    sign_and_pay(client, db_session, latest_sms, billing_services, change_number, phone)
    change = order_of(db_session, number=change_number)
    assert change.status is OrderStatus.APPROVED and change.certificate_password  # for the station's job
    assert change.number in [order.number for order in queue.waiting_orders(db_session, limit=50)]
    done = client.get(f"/apply/{change_number}/done?lang=en").get_data(as_text=True)
    assert "Mail the key to" in done and "The key password changes" in done


def test_a_contact_change_by_post_needs_no_key_at_all(client, db_session, holder, latest_sms, billing_services):
    number, credit_code, phone = holder[0], holder[1], holder[2]
    ask_code(client, credit_code)
    client.post("/c/direct/change/verify", data={"sms_code": sms_code_in(latest_sms(phone))})
    client.post(f"/change/certificates/{SERIAL}/form",
                data=form_values(db_session, number, agent_email="new-contact@example.com"))
    client.post(f"/change/certificates/{SERIAL}/confirm", data={"key_work": "station"})
    change_number = db_session.scalar(select(Order.number).where(Order.business_type == BusinessType.INFO_CHANGE))
    assert order_of(db_session, number=change_number).key_work is None  # nothing to write: no key to mail
    sign_and_pay(client, db_session, latest_sms, billing_services, change_number, phone)
    change = order_of(db_session, number=change_number)
    assert change.status is OrderStatus.COMPLETED and change.certificate_password is None
