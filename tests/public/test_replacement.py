"""Replacing a lost or damaged key (补办) from the applicant's side: the orders of an ID behind the
order query's SMS code, the form filled in from the chosen order, the materials with the payment
proof, the SMS signature, and then the wait for finance (no QR code, no 24-hour cancellation)."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import select

from billing import checkout
from documents.storage import Purpose
from models import (
    BusinessType,
    Certificate,
    Material,
    MaterialKind,
    Order,
    OrderStatus,
    Payment,
    RevocationReason,
    StaffRole,
)
from models.base import utcnow
from public import replacement
from tests import factories
from tests.conftest import MATERIAL_KINDS, image_bytes, sms_code_in, solve_captcha
from tests.public.test_order_query import ask

MEDIA_SERIAL = "RS2026000123"
CARD_NUMBER = "PC20260000042"


def certificate_for(db_session, order: Order, serial: str, **values) -> Certificate:
    return factories.registered_certificate(db_session, order, serial, **{
        "media_serial": MEDIA_SERIAL, "password_card_number": CARD_NUMBER, **values})


def keyed_order(app, db_session, *, until: OrderStatus = OrderStatus.COMPLETED, serial: str = "cd" * 16,
                card: str = CARD_NUMBER, **overrides) -> Order:
    """An order whose key was programmed and mailed (and received, by default), with its certificate."""
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], **overrides)
    for status in (OrderStatus.IN_REVIEW, OrderStatus.APPROVED, OrderStatus.PROGRAMMING, OrderStatus.PROGRAMMED,
                   OrderStatus.SHIPPED, OrderStatus.COMPLETED):
        order.move_to(status, "test")
        if status is until:
            break
    order.password_card_number = card
    certificate_for(db_session, order, serial)
    return order


@pytest.fixture
def earlier(app, db_session):
    """A completed order with its certificate: (number, credit code, agent phone), committed."""
    order = keyed_order(app, db_session)
    facts = order.number, order.organisation.credit_code, order.agent.phone
    db_session.commit()
    return facts


@pytest.fixture
def verify(client, latest_sms):
    """The order query's SMS code for the ID, entered: the verified mark the replacement pages read."""

    def run(credit_code: str, phone: str):
        client.get("/query?lang=en")
        assert ask(client, credit_code, phone).headers["Location"].endswith("/query/verify")
        response = client.post("/query/verify", data={"sms_code": sms_code_in(latest_sms(phone))})
        assert response.status_code == 302

    return run


def _form_page(client, number: str) -> str:
    return client.get(f"/replacement/{number}?lang=en").get_data(as_text=True)


def _input_value(page: str, name: str) -> str:
    return re.search(rf'name="{name}"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="{name}"', page).group(1)


def _order(db_session, number: str) -> Order:
    db_session.expire_all()
    return db_session.scalars(select(Order).where(Order.number == number)).one()


def _submit(client, form_data, number: str, **overrides):
    url = f"/replacement/{number}"
    return client.post(url, data={**form_data, **solve_captcha(client, url), "cause": "lost", **overrides})


def test_nothing_is_shown_without_the_sms_code(client, earlier, latest_sms):
    number, credit_code, phone = earlier
    for url in ("/replacement", f"/replacement/{number}"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].endswith("/query?for=replacement")
    ask(client, credit_code, phone)  # a code asked for, not entered
    for url in ("/replacement", f"/replacement/{number}"):
        response = client.get(url)
        assert response.status_code == 302 and number not in response.get_data(as_text=True)
    assert client.post(f"/replacement/{number}", data={"cause": "lost"}).status_code == 302


def test_the_list_has_every_column_of_the_portal(app, client, db_session, earlier, verify):
    number, credit_code, phone = earlier
    unkeyed = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], credit_code=credit_code,
                                   agent_phone=phone).number  # in review: no key to replace yet
    db_session.commit()
    verify(credit_code, phone)
    page = client.get("/replacement?lang=en").get_data(as_text=True)
    for heading in ("Order number", "Certificate name", "Business type", "Media number", "Password card number",
                    "Apply time", "Completion time", "Action"):
        assert f"<th>{heading}</th>" in page, heading
    row = page.split(f'id="order-{number}"')[1].split("</tr>")[0]
    for cell in (number, _order(db_session, number).product.name_en, "New application", MEDIA_SERIAL, CARD_NUMBER,
                 f'href="/replacement/{number}"', ">Replace<"):
        assert cell in row, cell
    assert row.count("-") >= 4  # the apply and completion times, not dashes
    assert f'id="order-{unkeyed}"' not in page
    assert client.get("/replacement").headers["Cache-Control"] == "private, no-store"


def test_the_form_is_filled_in_from_the_earlier_order_with_the_transfer_to_make(app, client, db_session, earlier,
                                                                                   verify):
    number, credit_code, phone = earlier
    verify(credit_code, phone)
    order = _order(db_session, number)
    expected = {"org_name": order.organisation.name, "agent_email": order.agent.email,
                "mailing_address": order.mailing_address, "account_number": order.account_number}
    page = _form_page(client, number)
    for name, value in expected.items():
        assert _input_value(page, name) == value, name
    assert _input_value(page, "credit_code") == credit_code
    assert MEDIA_SERIAL in page.split('id="replaced-certificate"')[1].split("</section>")[0]
    transfer = page.split('id="transfer-instructions"')[1].split("</section>")[0]
    assert app.config["SELLER_BANK_ACCOUNT"] in transfer and app.config["SELLER_NAME"] in transfer
    # the catalogue's replacement price (250 yuan; the demo's keys are free) with each key model, and without a key
    assert transfer.count('class="price">250.00<') == 3 and "UKEY-G" in transfer and "bring my own" in transfer
    assert 'name="cause"' in page


def test_a_refused_form_keeps_what_was_typed(client, db_session, earlier, verify, form_data):
    number, credit_code, phone = earlier
    verify(credit_code, phone)
    data = {**form_data, "credit_code": credit_code, "mailing_address": "新地址 88 号", "cause": None}
    data = {k: v for k, v in data.items() if v is not None}
    response = client.post(f"/replacement/{number}?lang=en",
                           data={**data, **solve_captcha(client, f"/replacement/{number}"), "agent_phone": "123"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-error-for="cause"' in page and 'data-error-for="agent_phone"' in page
    assert _input_value(page, "mailing_address") == "新地址 88 号"
    assert db_session.scalars(select(Order).where(Order.business_type == BusinessType.REPLACEMENT)).all() == []


def test_a_replacement_from_form_to_signature_then_waits_for_finance(
        app, client, db_session, earlier, verify, form_data, latest_sms, billing_services):
    number, credit_code, phone = earlier
    verify(credit_code, phone)
    # a new agent's phone (the earlier one just had the query code; a second code would come too soon)
    phone = "13700001111"
    response = _submit(client, form_data, number, credit_code=credit_code, agent_phone=phone)
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    new_number = response.headers["Location"].rsplit("/", 1)[-1]
    order, before = _order(db_session, new_number), _order(db_session, number)
    assert order.business_type is BusinessType.REPLACEMENT and order.previous_order_id == before.id
    assert order.organisation.name == before.organisation.name
    assert order.certificate.media_serial == MEDIA_SERIAL
    assert order.revocation_reason == RevocationReason.KEY_COMPROMISE
    assert order.channel_id == before.channel_id and order.status is OrderStatus.AWAITING_MATERIALS
    assert order.price_cents == 25000 + (order.media_model.price_cents if order.media_model else 0)

    confirm = client.get(f"/apply/{new_number}").get_data(as_text=True)
    assert 'id="return-to-edit"' in confirm and 'id="confirm-order"' in confirm
    # the five documents and the payment proof, with its sample
    materials = client.get(f"/apply/{new_number}/materials?lang=en").get_data(as_text=True)
    assert 'name="payment_proof"' in materials and "/samples/payment_proof.png" in materials
    client.post(f"/apply/{new_number}/materials", content_type="multipart/form-data",
                data={kind: (io.BytesIO(image_bytes()), f"{kind}.png") for kind in MATERIAL_KINDS})
    refused = client.post(f"/apply/{new_number}/materials/done")
    assert refused.headers["Location"].endswith(f"/apply/{new_number}/materials")
    client.post(f"/apply/{new_number}/materials", content_type="multipart/form-data",
                data={"payment_proof": (io.BytesIO(image_bytes("JPEG")), "回单.jpg")})
    assert client.post(f"/apply/{new_number}/materials/done").headers["Location"].endswith("/signature")

    client.post(f"/apply/{new_number}/signature/code")
    signed = client.post(f"/apply/{new_number}/signature", data={"sms_code": sms_code_in(latest_sms(phone))})
    assert signed.status_code == 302
    done = client.get(signed.headers["Location"], follow_redirects=True)
    assert done.request.path == f"/apply/{new_number}/done"
    page = client.get(f"/apply/{new_number}/done?lang=en").get_data(as_text=True)
    assert 'id="finance-checking"' in page and "Finance is checking your bank transfer" in page
    assert "Materials review takes 3 to 5 working days" in page and "within five working days" in page
    assert 'id="go-pay"' not in page and 'id="before-payment"' not in page
    assert client.get(f"/apply/{new_number}/pay").headers["Location"].endswith(f"/apply/{new_number}/done")

    order = _order(db_session, new_number)
    assert order.status is OrderStatus.AWAITING_PAYMENT
    assert db_session.scalars(select(Payment).where(Payment.order_id == order.id)).all() == []  # no QR trade
    assert order.id not in checkout.overdue_orders(db_session, billing_services, utcnow() + dt.timedelta(days=7))
    # the earlier order has an open replacement: it is not offered again
    assert f'id="order-{number}"' not in client.get("/replacement").get_data(as_text=True)
    assert client.get(f"/replacement/{number}").headers["Location"].endswith("/replacement")


def test_a_damaged_key_is_replaced_as_superseded(client, db_session, earlier, verify, form_data):
    number, credit_code, phone = earlier
    verify(credit_code, phone)
    response = _submit(client, form_data, number, credit_code=credit_code, agent_phone=phone, cause="damaged")
    order = _order(db_session, response.headers["Location"].rsplit("/", 1)[-1])
    assert order.revocation_reason == RevocationReason.SUPERSEDED


def test_return_to_edit_is_the_replacement_s_own_form_and_keeps_the_cause(client, db_session, earlier, verify,
                                                                          form_data):
    number, credit_code, phone = earlier
    verify(credit_code, phone)
    response = _submit(client, form_data, number, credit_code=credit_code, agent_phone=phone, cause="lost")
    replacement_number = response.headers["Location"].rsplit("/", 1)[-1]
    edit = client.get(f"/apply/{replacement_number}/edit")
    assert edit.headers["Location"] == f"/replacement/orders/{replacement_number}/edit"
    page = client.get(edit.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert '<input checked id="cause-0" name="cause" required type="radio" value="lost">' in page
    assert 'id="transfer-instructions"' in page and MEDIA_SERIAL in page
    products = re.search(r'<select id="product" name="product"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert products.count("<option") == 1  # the earlier order's product only, as on the first form
    url = f"/replacement/orders/{replacement_number}/edit"
    again = client.post(url, data={**form_data, **solve_captcha(client, url), "credit_code": credit_code,
                                   "agent_phone": phone, "mailing_address": "改后的地址 9 号", "cause": "damaged"})
    assert again.headers["Location"].endswith(f"/apply/{replacement_number}")  # the same order, confirmed again
    order = _order(db_session, replacement_number)
    assert order.revocation_reason == RevocationReason.SUPERSEDED and order.mailing_address == "改后的地址 9 号"
    assert order.business_type is BusinessType.REPLACEMENT


@pytest.mark.parametrize("state", ["shipped", "revoked", "expired", "unshipped"])
def test_which_orders_may_be_replaced(app, db_session, state):
    order = keyed_order(app, db_session, until=OrderStatus.SHIPPED if state != "unshipped" else OrderStatus.PROGRAMMED)
    certificate = db_session.scalars(select(Certificate).where(Certificate.order_id == order.id)).one()
    if state == "revoked":
        certificate.status = "revoked"
    if state == "expired":
        certificate.not_after = utcnow() - dt.timedelta(days=1)
    assert replacement.may_replace(db_session, order) is (state == "shipped")


def test_a_refused_proof_is_replaced_by_the_applicant(app, client, db_session, login_as, earlier, verify, form_data,
                                                      latest_sms):
    number, credit_code, phone = earlier
    verify(credit_code, phone)
    new_number = _submit(client, form_data, number, credit_code=credit_code,
                         agent_phone=phone).headers["Location"].rsplit("/", 1)[-1]
    order = _order(db_session, new_number)
    store = factories.folder_store(app.config["UPLOAD_FOLDER"])
    for kind in (*MATERIAL_KINDS, "payment_proof"):
        image = factories._document(MaterialKind(kind))
        db_session.add(Material(order_id=order.id, kind=kind, stored_name=store.save(Purpose.MATERIAL, image.content),
                                content_type=image.content_type, size_bytes=len(image.content), sha256=image.sha256,
                                width=image.width, height=image.height, uploaded_by="applicant:test"))
    for status in (OrderStatus.AWAITING_SIGNATURE, OrderStatus.AWAITING_PAYMENT):
        order.move_to(status, "applicant:test")
    order_id = order.id
    db_session.commit()
    assert client.get(f"/apply/{new_number}/payment-proof").headers["Location"].endswith("/done")

    applicant = client.get_cookie("session")
    login_as(StaffRole.FINANCE)
    client.post(f"/console/finance/transfers/{new_number}/refuse", data={"reason": "金额与到账记录不符"})
    assert "金额与到账记录不符" in latest_sms(phone)
    client.post("/console/logout")
    client.set_cookie("session", applicant.value)

    done = client.get(f"/apply/{new_number}/done?lang=en").get_data(as_text=True)
    assert 'id="proof-refused"' in done and f'href="/apply/{new_number}/payment-proof"' in done
    assert 'id="finance-checking"' not in done
    # the order query's "continue" leads there too, not to a QR code
    assert client.get(f"/apply/{new_number}/pay").headers["Location"].endswith(f"/apply/{new_number}/payment-proof")
    response = client.post(f"/apply/{new_number}/payment-proof", content_type="multipart/form-data",
                           data={"payment_proof": (io.BytesIO(image_bytes("JPEG")), "新回单.jpg")})
    assert response.headers["Location"].endswith(f"/apply/{new_number}/done")
    proofs = db_session.scalars(select(Material).where(Material.order_id == order_id,
                                                       Material.kind == MaterialKind.PAYMENT_PROOF,
                                                       Material.superseded_at.is_(None))).all()
    assert [p.original_filename for p in proofs] == ["新回单.jpg"]
    assert _order(db_session, new_number).status is OrderStatus.AWAITING_PAYMENT
    assert client.get(f"/apply/{new_number}/payment-proof").headers["Location"].endswith("/done")


def test_posts_need_the_csrf_token(make_app, db_session):
    browser = make_app(WTF_CSRF_ENABLED=True).test_client()
    for url in ("/replacement/20260101U000001", "/apply/20260101U000001/payment-proof"):
        assert browser.post(url, data={"cause": "lost"}).status_code == 400, url


def test_the_form_is_rate_limited_per_ip(rate_limited_app, db_session):
    browser = rate_limited_app.test_client()
    statuses = [browser.post("/replacement/20260101U000001").status_code for _ in range(31)]
    assert statuses[:30] == [302] * 30 and statuses[30] == 429
