"""A person fills the whole new-application form in Chromium, corrects it, signs it."""
from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from notifications.outbox import latest_for
from public.openapi import APPLICATION_EXAMPLE as A
from tests.conftest import MATERIAL_KINDS, sms_code_in
from web.extensions import db

pytestmark = pytest.mark.browser

TEXT_FIELDS = ["org_name", "org_department", "credit_code", "org_phone", "legal_rep_name",
               "legal_rep_phone", "legal_rep_id_number", "account_number", "bank_name",
               "invoice_taxpayer_id", "invoice_address_phone", "invoice_bank_account",
               "agent_name", "agent_phone", "agent_id_number", "agent_email", "mailing_address"]


def _solve_captcha(page: Page, base: str) -> None:
    # A new picture, as a person would ask for; the hook answers the page's own token.
    with page.expect_response(lambda response: "/captcha.png" in response.url):
        page.click(".captcha-refresh")
    token = page.input_value("[name=captcha_token]")
    page.fill("#captcha", page.request.get(f"{base}/_test/captcha?t={token}").text())


def _choose_region(page: Page, province_field: str, city_field: str) -> None:
    page.select_option(f"select[name={province_field}]", label="河南省")
    page.select_option(f"select[name={city_field}]", label="郑州市")


def test_new_application_end_to_end(page: Page, live_server: str, live_app, tmp_path):
    base = live_server
    page.goto(f"{base}/c/direct/apply")
    expect(page.locator("h2").first).to_be_visible()
    expect(page.locator("#application-form[data-regions-ready]")).to_have_count(1)
    page.check("input[name=identity_method][value=legal_rep_phone]")
    for name in TEXT_FIELDS:
        page.fill(f"[name={name}]", A[name])
    _choose_region(page, "region_province", "region_city")
    _choose_region(page, "bank_province", "bank_city")
    _choose_region(page, "mailing_province", "mailing_city")
    expect(page.locator(".mirror-org-name").first).to_have_text(A["org_name"])
    # A mistake first: the form comes back with the message and everything typed kept.
    page.fill("[name=credit_code]", "91350100M000100Y44")
    page.check("#consent")
    _solve_captcha(page, base)
    page.click("#submit-application")
    expect(page.locator('[data-error-for="credit_code"]')).to_be_visible()
    expect(page.locator("[name=agent_email]")).to_have_value(A["agent_email"])
    expect(page.locator("select[name=mailing_city]")).to_have_value("410100")
    page.fill("[name=credit_code]", A["credit_code"])
    _solve_captcha(page, base)
    page.click("#submit-application")

    number = page.locator(".kv .v").first.inner_text()
    assert len(number) == 15 and number[8] == "U"
    expect(page.locator("main")).to_contain_text("1101**********002X")

    page.click("#return-to-edit")
    expect(page.locator("[name=org_name]")).to_have_value(A["org_name"])
    expect(page.locator("select[name=region_city]")).to_have_value("410100")
    page.fill("[name=mailing_address]", "郑州市金水区花园路2号")
    _solve_captcha(page, base)
    page.click("#submit-application")
    expect(page.locator(".kv .v").first).to_have_text(number)
    expect(page.locator("main")).to_contain_text("花园路2号")

    page.click("#confirm-order")
    for kind in MATERIAL_KINDS:
        path = tmp_path / f"{kind}.jpg"
        buffer = io.BytesIO()
        Image.new("RGB", (320, 200), (30, 90, 160)).save(buffer, "JPEG")
        path.write_bytes(buffer.getvalue())
        page.set_input_files(f"input[name={kind}]", str(path))
    page.click("#upload-materials")
    expect(page.locator("img.preview")).to_have_count(5)
    page.click("#confirm-application")

    page.click("#send-code")
    with live_app.app_context():
        code = sms_code_in(latest_for(db.session, A["agent_phone"]).text)
    page.fill("#sms_code", code)
    page.click("#confirm-signature")
    expect(page.locator("#order-number")).to_have_text(number)
    expect(page.locator("#pay-qr")).to_be_visible()  # signed: the QR code to pay (tests/browser/test_payment.py)


def _expect_city(page: Page, city_field: str, code: str, name: str) -> None:
    city = page.locator(f"select[name={city_field}]")
    expect(city).to_have_value(code)
    expect(city.locator("option", has_text=name)).to_have_count(1)


def test_back_from_the_confirm_page_keeps_the_cities(page: Page, live_server: str):
    # Playwright's Chromium runs without the back/forward cache: Back builds the page anew.
    base = live_server
    page.goto(f"{base}/c/direct/apply")
    expect(page.locator("#application-form[data-regions-ready]")).to_have_count(1)
    page.check("input[name=identity_method][value=legal_rep_phone]")
    for name in TEXT_FIELDS:
        page.fill(f"[name={name}]", A[name])
    page.select_option("select[name=region_province]", label="河南省")
    page.select_option("select[name=region_city]", label="郑州市")
    page.select_option("select[name=bank_province]", label="河南省")
    page.select_option("select[name=bank_city]", label="洛阳市")
    page.select_option("select[name=mailing_province]", label="广东省")
    page.select_option("select[name=mailing_city]", label="深圳市")
    page.check("#consent")
    _solve_captcha(page, base)
    page.click("#submit-application")
    expect(page.locator("#return-to-edit")).to_be_visible()

    page.go_back()
    expect(page.locator("#application-form[data-regions-ready]")).to_have_count(1)
    _expect_city(page, "region_city", "410100", "郑州市")
    _expect_city(page, "bank_city", "410300", "洛阳市")
    _expect_city(page, "mailing_city", "440300", "深圳市")
    expect(page.locator("#captcha")).to_have_value("")  # that answer is used up

    # The edit page: its city options come from the server for the order's province.
    page.go_forward()
    page.click("#return-to-edit")
    expect(page.locator("#application-form[data-regions-ready]")).to_have_count(1)
    page.select_option("select[name=mailing_province]", label="河南省")
    page.select_option("select[name=mailing_city]", label="开封市")
    _solve_captcha(page, base)
    page.click("#submit-application")
    expect(page.locator("main")).to_contain_text("开封市")
    page.go_back()
    expect(page.locator("#application-form[data-regions-ready]")).to_have_count(1)
    _expect_city(page, "mailing_city", "410200", "开封市")
    _expect_city(page, "region_city", "410100", "郑州市")
