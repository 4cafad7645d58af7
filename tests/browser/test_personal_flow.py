"""A person applies for a personal certificate in Chromium: the home page's 办理个人证书, their own
form (corrected once), the confirm page, their ID card both sides, the SMS signature and the
sandbox payment, until the order waits in the personal review queue."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import select

from models import Order, OrderStatus, ReviewQueue
from notifications.outbox import latest_for
from tests.browser.conftest import LAPTOP
from tests.browser.test_new_application import _solve_captcha
from tests.conftest import sms_code_in
from web.extensions import db

pytestmark = pytest.mark.browser

HOLDER = {"agent_name": "王小明", "agent_id_number": "11010519491231002X", "agent_phone": "13655554444",
          "agent_email": "xiaoming@example.cn", "mailing_address": "郑州市金水区花园路8号"}


def test_a_personal_certificate_from_the_home_page_to_payment(page: Page, live_server: str, live_app, tmp_path,
                                                              screenshots):
    base = live_server
    page.set_viewport_size(LAPTOP)
    page.goto(f"{base}/c/direct/")
    page.click("#service-new-personal")
    expect(page).to_have_url(f"{base}/c/direct/personal/apply")
    expect(page.locator("#application-form[data-regions-ready]")).to_have_count(1)
    for name, value in HOLDER.items():
        page.fill(f"[name={name}]", value)
    # the bank card number shows only for the bank card check
    expect(page.locator("#field-agent_bank_account")).to_be_hidden()
    page.select_option("select[name=agent_identity_method]", "bank_card")
    expect(page.locator("#field-agent_bank_account")).to_be_visible()
    page.select_option("select[name=agent_identity_method]", "phone")
    page.select_option("select[name=mailing_province]", label="河南省")
    page.select_option("select[name=mailing_city]", label="郑州市")
    page.check("#consent")
    page.screenshot(path=str(screenshots / "personal-form.png"), full_page=True)

    # A wrong check character first: the message, and everything typed kept.
    page.fill("[name=agent_id_number]", "110105194912310021")
    _solve_captcha(page, base)
    page.click("#submit-application")
    expect(page.locator('[data-error-for="agent_id_number"]')).to_be_visible()
    expect(page.locator("[name=agent_email]")).to_have_value(HOLDER["agent_email"])
    expect(page.locator("select[name=mailing_city]")).to_have_value("410100")
    page.fill("[name=agent_id_number]", HOLDER["agent_id_number"])
    _solve_captcha(page, base)
    page.click("#submit-application")

    number = page.locator(".kv .v").first.inner_text()
    assert len(number) == 15 and number[8] == "P"
    expect(page.locator("main")).to_contain_text("1101**********002X")
    expect(page.locator("main")).to_contain_text(HOLDER["agent_name"])

    page.click("#return-to-edit")
    expect(page.locator("[name=agent_name]")).to_have_value(HOLDER["agent_name"])
    page.fill("[name=mailing_address]", "郑州市金水区花园路9号")
    _solve_captcha(page, base)
    page.click("#submit-application")
    expect(page.locator(".kv .v").first).to_have_text(number)
    expect(page.locator("main")).to_contain_text("花园路9号")

    page.click("#confirm-order")
    expect(page.locator(".material")).to_have_count(2)
    for kind in ("agent_id_front", "agent_id_back"):
        path = tmp_path / f"{kind}.jpg"
        buffer = io.BytesIO()
        Image.new("RGB", (320, 200), (30, 90, 160)).save(buffer, "JPEG")
        path.write_bytes(buffer.getvalue())
        page.set_input_files(f"input[name={kind}]", str(path))
    page.click("#upload-materials")
    expect(page.locator("img.preview")).to_have_count(2)
    page.click("#confirm-application")

    page.click("#send-code")
    with live_app.app_context():
        code = sms_code_in(latest_for(db.session, HOLDER["agent_phone"]).text)
    page.fill("#sms_code", code)
    page.click("#confirm-signature")
    expect(page.locator("#pay-qr")).to_be_visible()
    with page.context.expect_page() as opened:
        page.click("#sandbox-wallet")
    wallet = opened.value
    wallet.click("#wallet-pay")
    expect(wallet.locator("#wallet-paid")).to_be_visible()
    wallet.close()

    page.wait_for_url(re.compile(rf"/apply/{number}/done$"), timeout=15000)
    expect(page.locator("#order-status")).to_have_text("已支付（待审核）")
    with live_app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == number))
        assert order.status is OrderStatus.PAID and order.queue is ReviewQueue.PERSONAL
        assert order.organisation is None and order.holder.name == HOLDER["agent_name"]
