"""Help with the materials (sample pictures, the two forms to print filled in) and the CA named from
configuration: its name in the consent texts, agreements and forms, its phone on every public page."""
from __future__ import annotations

import hashlib
import html
import io
import re
import secrets
import subprocess

import pytest
from PIL import Image
from sqlalchemy import select

from models import AuditEntry, Channel, MaterialKind, Order, OrderStatus
from models.business import APPLICATION_MATERIALS
from public import operations
from tests import factories
from tests.conftest import sms_code_in

CONFIGURED = {"CA_NAME": "测试省数字证书认证中心有限公司", "CA_NAME_EN": "Test Province Digital CA Ltd.",
              "CA_SERVICE_PHONE": "400-888-0101"}
FORMS = ("eseal_sample_form", "authorisation_letter")


def own_order(db_session, browser, status: OrderStatus = OrderStatus.AWAITING_MATERIALS, **overrides) -> str:
    """An order filed by `browser` (its session holds the applicant secret), moved on to `status`."""
    secret = secrets.token_urlsafe(16)
    channel = db_session.scalars(select(Channel).filter_by(code="direct")).one()
    order = operations.submit_application(db_session, channel, factories.application(**overrides),
                                          actor="applicant:test", applicant_secret=secret)
    if status == OrderStatus.AWAITING_SIGNATURE:
        order.move_to(status, "applicant:test")
    number = order.number
    db_session.commit()
    with browser.session_transaction() as session:
        session["applicant"] = secret
    return number


def pdf_text(pdf: bytes) -> str:
    result = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return re.sub(r"\s+", "", result.stdout.decode())  # CJK text may come out spaced and wrapped


@pytest.fixture
def configured(make_app, db_session):
    return make_app(**CONFIGURED).test_client()


@pytest.mark.parametrize("kind", list(MaterialKind))
def test_a_sample_picture_of_each_material(client, kind):
    response = client.get(f"/samples/{kind.value}.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert "public" in response.headers["Cache-Control"]
    with Image.open(io.BytesIO(response.data)) as picture:
        assert picture.format == "PNG" and picture.width >= 600


def test_unknown_sample_is_404(client):
    assert client.get("/samples/passport_photo.png").status_code == 404


def test_materials_page_links_samples_and_the_two_forms(client, db_session):
    number = own_order(db_session, client)
    page = client.get(f"/apply/{number}/materials").get_data(as_text=True)
    for kind in APPLICATION_MATERIALS:
        assert f'/samples/{kind.value}.png"' in page
    assert "/samples/payment_proof.png" not in page  # a first application pays by QR code
    assert page.count('class="button form-download"') == 2
    for kind in FORMS:
        assert f"/apply/{number}/forms/{kind}.pdf" in page


def test_forms_are_filled_in_with_the_order_and_name_the_ca(client, db_session, app):
    number = own_order(db_session, client, org_name="郑州样例印章科技有限公司", agent_name="王小明")
    credit_code = db_session.scalars(select(Order).where(Order.number == number)).one().organisation.credit_code
    ca_name = app.config["CA_NAME"]
    for kind in FORMS:
        response = client.get(f"/apply/{number}/forms/{kind}.pdf?lang=en")  # Chinese forms in either language
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.headers["Cache-Control"] == "private, no-store"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        text = pdf_text(response.data)
        assert ca_name in text and "郑州样例印章科技有限公司" in text and credit_code in text
    seal_form = pdf_text(client.get(f"/apply/{number}/forms/eseal_sample_form.pdf").data)
    assert "单位电子签章采样表" in seal_form and "单位公章印模" in seal_form and "法定代表人名章印模" in seal_form
    letter = pdf_text(client.get(f"/apply/{number}/forms/authorisation_letter.pdf").data)
    assert "法定代表人授权书" in letter and "王小明" in letter and "110105199003071239" in letter
    assert "居民身份证" in letter and f"向{ca_name}申请办理数字证书" in letter


def test_another_visitor_cannot_download_an_orders_form(app, client, db_session):
    number = own_order(db_session, client)
    stranger = app.test_client()
    for kind in FORMS:
        assert stranger.get(f"/apply/{number}/forms/{kind}.pdf").status_code == 404
    assert client.get(f"/apply/{number}/forms/business_licence.pdf").status_code == 404  # no form to print
    assert client.get(f"/apply/{number}/forms/nothing.pdf").status_code == 404


def test_forms_carry_the_configured_ca(configured, db_session):
    number = own_order(db_session, configured)
    for kind in FORMS:
        assert CONFIGURED["CA_NAME"] in pdf_text(configured.get(f"/apply/{number}/forms/{kind}.pdf").data)


@pytest.mark.parametrize("url", ["/c/direct/", "/c/direct/apply", "/c/direct/personal/apply", "/query",
                                 "/legal/service-agreement",
                                 "/legal/privacy-policy", "/legal/risk-notice"])
def test_every_public_page_shows_the_configured_ca_and_phone(configured, url):
    for lang, name in (("zh_CN", CONFIGURED["CA_NAME"]), ("en", CONFIGURED["CA_NAME_EN"])):
        page = configured.get(f"{url}?lang={lang}").get_data(as_text=True)
        footer = page.split('id="site-footer"')[1]
        assert name in footer and CONFIGURED["CA_SERVICE_PHONE"] in footer, (url, lang)


def test_the_order_pages_show_the_phone_too(configured, db_session):
    number = own_order(db_session, configured)
    for url in (f"/apply/{number}", f"/apply/{number}/materials"):
        assert CONFIGURED["CA_SERVICE_PHONE"] in configured.get(url).get_data(as_text=True), url


def test_consent_label_and_agreements_name_the_configured_ca(configured):
    for lang, name in (("zh_CN", CONFIGURED["CA_NAME"]), ("en", CONFIGURED["CA_NAME_EN"])):
        form = configured.get(f"/c/direct/apply?lang={lang}").get_data(as_text=True)
        label = form.split('id="field-consent"')[1].split("</label>")[0]
        assert name in label.split('id="consent-agreement"')[1], lang
        for document in ("service-agreement", "privacy-policy", "risk-notice"):
            page = configured.get(f"/legal/{document}?lang={lang}").get_data(as_text=True)
            assert name in page.split("<article")[1], (document, lang)
    policy = configured.get("/legal/privacy-policy").get_data(as_text=True)
    assert CONFIGURED["CA_SERVICE_PHONE"] in policy.split("<article")[1]


def test_the_signature_note_is_the_digest_of_the_consent_shown(configured, db_session, latest_sms):
    number = own_order(db_session, configured, OrderStatus.AWAITING_SIGNATURE)
    page = configured.get(f"/apply/{number}/signature?lang=en").get_data(as_text=True)
    shown = html.unescape(re.search(r'<p class="consent-text">(.*?)</p>', page, re.S).group(1))
    assert shown.startswith(f"我同意向{CONFIGURED['CA_NAME']}申请电子签名认证证书")
    phone = db_session.scalars(select(Order).where(Order.number == number)).one().agent.phone
    configured.post(f"/apply/{number}/signature/code")
    response = configured.post(f"/apply/{number}/signature", data={"sms_code": sms_code_in(latest_sms(phone))})
    assert response.headers["Location"].endswith("/pay")
    order = db_session.scalars(select(Order).where(Order.number == number)).one()
    signed = db_session.scalars(select(AuditEntry).where(
        AuditEntry.order_id == order.id, AuditEntry.after["status"].as_string() == "awaiting_payment")).one()
    assert signed.note == "consent sha256 " + hashlib.sha256(shown.encode()).hexdigest()
    assert signed.note == operations.signature_note(operations.signature_consent(CONFIGURED["CA_NAME"]))
