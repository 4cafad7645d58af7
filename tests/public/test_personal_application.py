"""The personal certificate's application (办理个人证书) through the public pages: the holder's own
form, the confirm page, the ID card both sides, the SMS signature and the payment, into the
personal review queue."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from models import (
    AgentIdentityMethod,
    BusinessType,
    CertKind,
    MaterialKind,
    Order,
    OrderStatus,
    PersonRole,
    ReviewQueue,
)
from public import operations
from tests.conftest import image_bytes, sms_code_in, solve_captcha

URL = "/c/direct/personal/apply"
ID_NUMBER = "11010519491231002X"  # a resident ID with its GB 11643 check character
PHONE = "13912345678"
PERSON = {
    "agent_name": "王小明", "agent_id_type": "resident_id", "agent_id_number": ID_NUMBER,
    "agent_phone": PHONE, "agent_identity_method": "phone", "agent_bank_account": "",
    "agent_email": "xiaoming@example.cn", "product": "PERSON-1Y", "media_type": "card", "media_model": "UKEY-RS",
    "mailing_province": "410000", "mailing_city": "410100", "mailing_address": "郑州市金水区花园路8号",
    "consent": "y",
}
ID_SIDES = ("agent_id_front", "agent_id_back")


@pytest.fixture
def apply_personal(client):
    """Fill the personal form as a browser would (captcha via the test hook); returns the response."""

    def submit(url: str = URL, **overrides):
        data = {**PERSON, **solve_captcha(client, url), **overrides}
        return client.post(url, data={k: v for k, v in data.items() if v is not None})

    return submit


@pytest.fixture
def personal_number(apply_personal):
    response = apply_personal()
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    return response.headers["Location"].rsplit("/", 1)[-1]


def _order(db_session, number: str) -> Order:
    db_session.expire_all()
    return db_session.scalars(select(Order).where(Order.number == number)).one()


def _orders(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(Order))


def test_the_form_asks_the_holder_and_nothing_of_an_organisation(client):
    page = client.get(URL).get_data(as_text=True)
    for expected in ("姓名", "证件类型", "手机", "电子邮箱", "邮寄地址", "验证码", "护照", "1年期个人证书", "UKEY-RS"):
        assert expected in page, expected
    english = client.get(URL + "?lang=en").get_data(as_text=True)
    assert "Phone real-name check" in english and "Bank card check" in english
    for absent in ("org_name", "credit_code", "legal_rep_name", "account_number", "invoice_taxpayer_id",
                   "name=\"identity_method\"", "UNIT-1Y"):
        assert absent not in page, absent
    assert 'name="consent"' in page and "/legal/privacy-policy" in page


def test_a_channel_without_personal_products_says_so(client):
    page = client.get("/c/zzggzy/personal/apply?lang=en").get_data(as_text=True)
    assert 'id="not-offered"' in page and 'id="application-form"' not in page


@pytest.mark.parametrize("overrides, field", [
    ({"agent_id_number": "110105194912310021"}, "agent_id_number"),  # a wrong check character
    ({"agent_id_type": "passport", "agent_id_number": "护照号"}, "agent_id_number"),
    ({"agent_id_type": "home_return_permit", "agent_id_number": "X1234"}, "agent_id_number"),
    ({"agent_phone": "02165501234"}, "agent_phone"),  # a landline: no SMS
    ({"agent_email": "not-an-email"}, "agent_email"),
    ({"agent_identity_method": "bank_card", "agent_bank_account": ""}, "agent_bank_account"),
    ({"agent_name": ""}, "agent_name"),
    ({"mailing_city": "440300"}, "mailing_city"),  # 深圳 is not in 河南
    ({"product": "UNIT-1Y"}, "product"),  # not a personal product
    ({"consent": None}, "consent"),
])
def test_each_field_is_checked_with_a_message(apply_personal, db_session, overrides, field):
    response = apply_personal(**overrides)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and f'data-error-for="{field}"' in page
    assert page.count("data-error-for=") == 1  # that field only
    assert _orders(db_session) == 0


def test_a_refused_form_keeps_what_was_typed(apply_personal):
    page = apply_personal(agent_id_number="110105194912310021", agent_name="王小明",
                          agent_email="xm@example.cn", mailing_address="花园路9号").get_data(as_text=True)
    for value in ("110105194912310021", "王小明", "xm@example.cn", "花园路9号"):
        assert f'value="{value}"' in page, value
    assert 'value="410100" selected' in page or 'selected value="410100"' in page


def test_a_passport_and_the_bank_card_check_are_accepted(apply_personal, db_session):
    response = apply_personal(agent_id_type="passport", agent_id_number="e12345678",
                              agent_identity_method="bank_card", agent_bank_account="6222 0212 3456 7890 123")
    order = _order(db_session, response.headers["Location"].rsplit("/", 1)[-1])
    assert order.holder.id_number == "E12345678" and order.holder.bank_card_number == "6222021234567890123"
    assert order.agent_identity_method is AgentIdentityMethod.BANK_CARD


def test_the_order_has_the_holder_and_no_organisation(personal_number, db_session):
    order = _order(db_session, personal_number)
    assert personal_number[8] == "P" and order.cert_kind is CertKind.PERSONAL and order.personal
    assert order.business_type is BusinessType.NEW and order.status is OrderStatus.AWAITING_MATERIALS
    assert order.agent.role is PersonRole.HOLDER and order.holder_name == "王小明"
    assert order.holder.subject_serial and order.holder.id_number == ID_NUMBER
    assert order.organisation is None and order.legal_rep is None and order.identity_method is None
    assert (order.account_name, order.account_number, order.bank_name, order.invoice_taxpayer_id) == (None,) * 4
    assert order.invoice_title == "王小明"
    assert order.price_cents == 30000  # the catalogue's PERSON-1Y price, the demo's key free


def test_the_confirm_page_shows_the_holder_with_the_id_masked(client, personal_number):
    page = client.get(f"/apply/{personal_number}?lang=en").get_data(as_text=True)
    assert "Certificate holder" in page and "王小明" in page and "Phone real-name check" in page
    assert ID_NUMBER not in page and "1101**********002X" in page
    assert "Organisation" not in page and "Legal representative" not in page and "Taxpayer ID" not in page
    assert f'href="/apply/{personal_number}/edit"' in page and 'id="duplicate-warning"' not in page


def test_return_to_edit_is_the_personal_form_with_the_values(client, apply_personal, personal_number, db_session):
    edit = client.get(f"/apply/{personal_number}/edit")
    assert edit.status_code == 307 and edit.headers["Location"] == f"/apply/{personal_number}/personal/edit"
    page = client.get(edit.headers["Location"]).get_data(as_text=True)
    assert f'value="{ID_NUMBER}"' in page and 'value="王小明"' in page and "org_name" not in page
    url = f"/apply/{personal_number}/personal/edit"
    response = apply_personal(url=url, agent_name="王晓明", mailing_address="郑州市二七区大学路3号")
    assert response.headers["Location"].endswith(f"/apply/{personal_number}")
    order = _order(db_session, personal_number)
    assert order.holder_name == "王晓明" and order.mailing_address == "郑州市二七区大学路3号"
    assert order.holder.role is PersonRole.HOLDER and _orders(db_session) == 1
    assert apply_personal(url=url, agent_id_number="110105194912310021").status_code == 200  # checked again


def test_another_browser_cannot_edit_the_order(app, personal_number):
    stranger = app.test_client()
    assert stranger.get(f"/apply/{personal_number}/personal/edit").status_code == 404
    assert stranger.get(f"/apply/{personal_number}").status_code == 404


def test_the_duplicate_warning_goes_by_the_holder_s_id(client, apply_personal, personal_number):
    second = apply_personal().headers["Location"].rsplit("/", 1)[-1]  # Back, then Next again
    page = client.get(f"/apply/{second}").get_data(as_text=True)
    assert 'id="duplicate-warning"' in page and f'href="/apply/{personal_number}/done"' in page
    other = apply_personal(agent_id_number="110105199003071239").headers["Location"]
    assert 'id="duplicate-warning"' not in client.get(other).get_data(as_text=True)


def test_materials_are_the_id_card_both_sides(client, personal_number):
    page = client.get(f"/apply/{personal_number}/materials?lang=en").get_data(as_text=True)
    assert 'id="personal-materials-hint"' in page and "王小明" in page
    assert [kind for kind in MaterialKind if f'name="{kind.value}"' in page] == [
        MaterialKind.AGENT_ID_FRONT, MaterialKind.AGENT_ID_BACK]
    assert "ID card, portrait side" in page and "Agent's ID card" not in page and "business licence" not in page


def test_from_the_id_card_to_the_signature_and_payment_into_the_personal_queue(
        client, personal_number, db_session, latest_sms, billing_services):
    number = personal_number
    client.post(f"/apply/{number}/materials", content_type="multipart/form-data",
                data={"agent_id_front": (io.BytesIO(image_bytes()), "front.png")})
    assert client.post(f"/apply/{number}/materials/done").headers["Location"].endswith("/materials")
    client.post(f"/apply/{number}/materials", content_type="multipart/form-data",
                data={"agent_id_back": (io.BytesIO(image_bytes("JPEG")), "back.jpg")})
    assert client.post(f"/apply/{number}/materials/done").headers["Location"].endswith("/signature")

    page = client.get(f"/apply/{number}/signature?lang=en").get_data(as_text=True)
    assert "王小明" in page and "139****5678" in page and "Agent's name" not in page
    assert "本人保证所提交的申请资料真实" in page and "我单位" not in page
    client.post(f"/apply/{number}/signature/code")
    signed = client.post(f"/apply/{number}/signature", data={"sms_code": sms_code_in(latest_sms(PHONE))})
    assert signed.headers["Location"].endswith(f"/apply/{number}/pay")
    page = client.get(f"/apply/{number}/pay").get_data(as_text=True)
    assert "300.00" in page and f"/sandbox/wallet/{number}" in page

    billing_services.provider.pay(number)
    assert client.get(f"/apply/{number}/pay/status").get_json()["next"] == f"/apply/{number}/done"
    order = _order(db_session, number)
    assert order.status is OrderStatus.PAID and order.queue is ReviewQueue.PERSONAL
    done = client.get(f"/apply/{number}/done?lang=en").get_data(as_text=True)
    assert 'id="after-payment"' in done and "sent to your e-mail" in done


def test_an_api_style_post_cannot_make_a_unit_product_personal(db_session, personal_number):
    order = _order(db_session, personal_number)
    with pytest.raises(ValueError):
        operations.update_application(db_session, order, {**PERSON, "product": "UNIT-1Y"}, actor="test")


def test_posts_need_the_csrf_token(make_app, db_session):
    browser = make_app(WTF_CSRF_ENABLED=True).test_client()
    for url in (URL, "/apply/20260101P000001/personal/edit"):
        assert browser.post(url, data=PERSON).status_code == 400, url


def test_the_form_is_rate_limited_per_ip(rate_limited_app, db_session):
    browser = rate_limited_app.test_client()
    statuses = [browser.post(URL, data={}).status_code for _ in range(31)]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429
