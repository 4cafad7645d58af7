"""An applicant pays a signed order by QR code in the sandbox and the page moves on by itself."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from models import EmailMessage, Invoice, Order, OrderStatus
from notifications.outbox import latest_for
from public.openapi import APPLICATION_EXAMPLE
from tests import factories
from tests.conftest import MATERIAL_KINDS, image_bytes, sms_code_in
from web.extensions import db

pytestmark = pytest.mark.browser


def _signed_order(page: Page, base: str, live_app) -> str:
    """Form, materials and SMS signature through the browser's own session (its cookies), so the
    order is this browser's: it waits for payment."""
    form = {**factories.application(), "consent": "y"}
    apply_page = page.request.get(f"{base}/c/direct/apply").text()
    form["captcha_token"] = re.search(r'name="captcha_token" value="([^"]+)"', apply_page).group(1)
    page.request.get(f"{base}/captcha.png?t={form['captcha_token']}")
    form["captcha"] = page.request.get(f"{base}/_test/captcha?t={form['captcha_token']}").text()
    response = page.request.post(f"{base}/c/direct/apply", form=form, max_redirects=0)
    number = response.headers["location"].rsplit("/", 1)[-1]
    files = {kind: {"name": f"{kind}.png", "mimeType": "image/png", "buffer": image_bytes()} for kind in MATERIAL_KINDS}
    page.request.post(f"{base}/apply/{number}/materials", multipart=files)
    page.request.post(f"{base}/apply/{number}/materials/done")
    page.request.post(f"{base}/apply/{number}/signature/code")
    with live_app.app_context():
        code = sms_code_in(latest_for(db.session, form["agent_phone"]).text)
    page.request.post(f"{base}/apply/{number}/signature", form={"sms_code": code})
    return number


def test_pay_by_qr_code_in_the_sandbox(page: Page, live_server: str, live_app, screenshots):
    base = live_server
    number = _signed_order(page, base, live_app)
    page.goto(f"{base}/apply/{number}/pay")
    expect(page.locator("#order-number")).to_have_text(number)
    expect(page.locator("#amount")).to_contain_text("300.00")
    qr = page.locator("#pay-qr")
    expect(qr).to_be_visible()
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    expect(page.locator("#pay-waiting")).to_be_visible()
    page.screenshot(path=str(screenshots / "payment.png"))

    # The buyer's phone: the sandbox wallet the QR code stands for.
    with page.context.expect_page() as opened:
        page.click("#sandbox-wallet")
    wallet = opened.value
    expect(wallet.locator("#wallet-amount")).to_contain_text("300.00")
    wallet.click("#wallet-pay")
    expect(wallet.locator("#wallet-paid")).to_be_visible()
    wallet.close()

    # The payment page notices by itself and moves on.
    page.wait_for_url(re.compile(rf"/apply/{number}/done$"), timeout=15000)
    expect(page.locator("#order-status")).to_have_text("已支付（待审核）")
    expect(page.locator("#invoices a")).to_have_count(1)
    with page.expect_download() as download:
        page.click("#invoices a")
    assert download.value.suggested_filename.startswith("invoice-")

    with live_app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == number))
        assert order.status == OrderStatus.PAID and order.queue is not None
        invoice = db.session.scalar(select(Invoice).where(Invoice.order_id == order.id))
        mail = db.session.scalar(select(EmailMessage).where(EmailMessage.order_id == order.id))
        assert invoice is not None and mail.attachments[0].filename == invoice.filename
        assert mail.to_address == APPLICATION_EXAMPLE["agent_email"]
