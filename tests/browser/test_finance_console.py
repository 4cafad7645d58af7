"""Finance signs in, sees a paid order's payment and invoice, and confirms the refund of a
rejected order; the provider gives the money back and the invoice is reversed."""
from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from billing import checkout
from billing.services import current_services
from models import Invoice, InvoiceStatus, Order, Payment, PaymentStatus, StaffRole
from models.base import utcnow
from public import payments
from review import operations as review_operations
from tests import factories
from tests.browser.conftest import LAPTOP, STAFF_PASSWORD, console_sign_in, writing_to
from tests.conftest import add_staff
from web.extensions import db

pytestmark = pytest.mark.browser


def _invoices(order_id: int) -> dict:
    return {i.kind.value: i.status for i in db.session.scalars(select(Invoice).where(Invoice.order_id == order_id))}


def _eventually(check, seconds: float = 15.0):
    """What `check()` answers once true (the live server's worker works beside the test)."""
    deadline = time.monotonic() + seconds
    while not (answer := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
        db.session.rollback()  # a fresh snapshot
    return answer


@pytest.fixture
def rejected_paid_order(live_app, live_server):
    """An order paid through the sandbox, then rejected in review: its refund awaits finance."""
    with writing_to(live_app):
        services = current_services()
        order = factories.unpaid_order(db.session, live_app.config["UPLOAD_FOLDER"])
        checkout.payment_qr_code(db.session, services, order)
        [params] = services.provider.pay(order.number)
        payments.record_notification(db.session, services, params, now=utcnow())
        order_id = order.id
        db.session.commit()
    with live_app.app_context():
        # the worker issues its invoice, before the review (days later, in life)
        assert _eventually(lambda: _invoices(order_id)) == {"blue": InvoiceStatus.ISSUED}
    with writing_to(live_app):
        order = db.session.get(Order, order_id)
        reviewer = add_staff(db.session, StaffRole.REVIEWER)
        review_operations.claim_order(db.session, order, reviewer)
        review_operations.reject_order(db.session, order, reviewer, reason_ids=[], note="营业执照已注销")
        finance = add_staff(db.session, StaffRole.FINANCE, "zhao", password=STAFF_PASSWORD, display_name="财务 赵敏")
        snapshot = order.number, finance.totp_secret
        db.session.commit()
        return snapshot


def test_finance_confirms_the_refund_of_a_rejected_order(page: Page, live_server: str, live_app,
                                                        rejected_paid_order, screenshots):
    number, secret = rejected_paid_order
    page.set_viewport_size(LAPTOP)
    console_sign_in(page, live_server, "zhao", secret)
    expect(page).to_have_url(f"{live_server}/console/finance/")  # finance lands on its own console

    page.goto(f"{live_server}/console/finance/payments?q={number}")
    expect(page.locator("main")).to_contain_text(number)
    page.goto(f"{live_server}/console/finance/refunds")
    row = page.locator(f"tr[data-refund='{number}-R1']")
    expect(row).to_have_attribute("data-status", "awaiting_confirmation")
    page.screenshot(path=str(screenshots / "finance.png"))
    row.locator("button[type=submit]").click()
    expect(page.locator(f"tr[data-refund='{number}-R1']")).to_have_attribute("data-status", "succeeded")

    with live_app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.out_trade_no == number))
        assert payment.status == PaymentStatus.REFUNDED
        assert _eventually(lambda: _invoices(payment.order_id).get("red")) == InvoiceStatus.ISSUED
        assert _invoices(payment.order_id) == {"blue": InvoiceStatus.REVERSED, "red": InvoiceStatus.ISSUED}
