"""The applicant's pages on a 390 px phone screen: the materials page and the order-query results
fit the screen's width, so the page never scrolls sideways."""
from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from documents import drawings
from documents.storage import Purpose
from models import Invoice, InvoiceKind, InvoiceStatus, MaterialKind, OrderStatus
from models.base import utcnow
from models.business import APPLICATION_MATERIALS
from notifications.outbox import latest_for
from tests import factories
from tests.browser.conftest import writing_to
from tests.conftest import sms_code_in
from web.extensions import db

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser) -> Page:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=3)
    yield context.new_page()
    context.close()


def _captcha(page: Page, base: str, form_url: str) -> dict[str, str]:
    """The captcha fields of the form at `form_url`, answered by the test hook."""
    token = re.search(r'name="captcha_token" value="([^"]+)"', page.request.get(f"{base}{form_url}").text()).group(1)
    page.request.get(f"{base}/captcha.png?t={token}")
    return {"captcha_token": token, "captcha": page.request.get(f"{base}/_test/captcha?t={token}").text()}


def _drawn(kind: MaterialKind) -> bytes:
    out = io.BytesIO()
    drawings.draw(kind).save(out, "PNG")
    return out.getvalue()


def _order_with_materials(page: Page, base: str, application: dict) -> str:
    """The form and all five materials through this browser's session, so the order is its own."""
    form = {**application, "consent": "y", **_captcha(page, base, "/c/direct/apply")}
    response = page.request.post(f"{base}/c/direct/apply", form=form, max_redirects=0)
    number = response.headers["location"].rsplit("/", 1)[-1]
    files = {kind.value: {"name": f"{kind.value}.png", "mimeType": "image/png", "buffer": _drawn(kind)}
             for kind in APPLICATION_MATERIALS}
    page.request.post(f"{base}/apply/{number}/materials", multipart=files)
    return number


def _page_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def _all_images_loaded(page: Page) -> None:
    page.evaluate("() => Promise.all([...document.images].map(image => image.decode()))")


def test_materials_page_fits_a_phone(phone: Page, live_server: str):
    base = live_server
    number = _order_with_materials(phone, base, factories.application())
    for lang in ("zh_CN", "en"):
        phone.goto(f"{base}/apply/{number}/materials?lang={lang}")
        expect(phone.locator("img.preview")).to_have_count(len(APPLICATION_MATERIALS))
        expect(phone.locator("a.form-download")).to_have_count(2)
        for summary in phone.locator("details.sample summary").all():
            summary.click()  # every sample picture open as well
        _all_images_loaded(phone)
        assert _page_width(phone) <= PHONE["width"], lang


def _add_invoice(order, upload_folder: str) -> None:
    db.session.add(Invoice(
        order_id=order.id, kind=InvoiceKind.BLUE, status=InvoiceStatus.ISSUED, issuer="test",
        number=f"26410000000{order.id:09d}", year=2026, sequence=order.id, issued_at=utcnow(),
        buyer_name=order.organisation.name, buyer_taxpayer_id=order.invoice_taxpayer_id,
        item_name="*信息技术服务*数字证书服务费", tax_rate=Decimal("0.06"), amount_cents=28302, tax_cents=1698,
        total_cents=30000, verify_url="https://inv-veri.example.cn/",
        pdf_name=factories.folder_store(upload_folder).save(Purpose.INVOICE, b"%PDF-1.4 invoice")))


def _more_orders(live_app, credit_code: str, agent_phone: str) -> None:
    """Two orders in review, one completed with its invoice, one cancelled: the same organisation and agent."""
    with writing_to(live_app):
        folder = live_app.config["UPLOAD_FOLDER"]
        same = {"credit_code": credit_code, "agent_phone": agent_phone}
        for _ in range(2):
            factories.paid_order(db.session, folder, **same)
        completed = factories.paid_order(db.session, folder, **same)
        for status in (OrderStatus.IN_REVIEW, OrderStatus.APPROVED, OrderStatus.PROGRAMMING, OrderStatus.PROGRAMMED,
                       OrderStatus.SHIPPED, OrderStatus.COMPLETED):
            completed.move_to(status, "test")
        _add_invoice(completed, folder)
        factories.unpaid_order(db.session, folder, **same).move_to(OrderStatus.CANCELLED, "test")
        db.session.commit()


def test_order_query_results_fit_a_phone(phone: Page, live_server: str, live_app):
    base = live_server
    application = factories.application()
    _order_with_materials(phone, base, application)
    _more_orders(live_app, application["credit_code"], application["agent_phone"])
    query = {"cert_kind": "unit", "id_type": "credit_code", "id_number": application["credit_code"],
             "agent_phone": application["agent_phone"], **_captcha(phone, base, "/query")}
    phone.request.post(f"{base}/query", form=query)
    with live_app.app_context():
        code = sms_code_in(latest_for(db.session, application["agent_phone"]).text)
    phone.request.post(f"{base}/query/verify", form={"sms_code": code})
    for lang in ("zh_CN", "en"):
        phone.goto(f"{base}/query/results?lang={lang}")
        expect(phone.locator("#unfinished-orders tbody tr")).to_have_count(3)
        expect(phone.locator("#history-orders tbody tr")).to_have_count(2)
        expect(phone.locator("#history-orders a.invoice-download")).to_have_count(1)
        for summary in phone.locator("details summary").all():
            summary.click()  # the details of every order open as well
        assert _page_width(phone) <= PHONE["width"], lang
