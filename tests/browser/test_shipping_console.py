"""Shipping in Chromium: from a programmed key to "shipped". A fulfillment staff member prints the
password card (a PDF download, never kept), scans the tracking number and ships; the applicant
gets the tracking number by SMS, and the order query shows the courier and tracking number."""
from __future__ import annotations

import subprocess
import uuid

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from models import OrderStatus, SmsMessage, StaffRole
from tests.browser.conftest import LAPTOP, STAFF_PASSWORD, console_sign_in
from tests.conftest import add_staff
from tests.station.conftest import (  # noqa: F401 - fixtures
    approved,
    client,
    committed,
    fulfillment,
    order_of,
    station_app,
    station_credential,
)
from tests.station.live import live_url  # noqa: F401
from tests.station.test_shipping import programmed  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def shipper(committed):  # noqa: F811
    """Who signs in in the browser."""
    return committed(lambda session: add_staff(session, StaffRole.FULFILLMENT, f"ship-{uuid.uuid4().hex[:4]}",
                                               password=STAFF_PASSWORD, display_name="制证员 刘强"))


def test_a_programmed_key_is_shipped(page: Page, live_url, committed, programmed, shipper,  # noqa: F811
                                     tmp_path, screenshots):
    number, key, _ = programmed()
    page.set_viewport_size(LAPTOP)
    console_sign_in(page, live_url, shipper.username, shipper.totp_secret)
    page.goto(f"{live_url}/console/station/")
    page.click("#shipping-link")
    row = page.locator(f"#ship-{number}")
    expect(row).to_be_visible()

    with page.expect_download() as download:
        row.get_by_role("button").first.click()
    card = tmp_path / "card.pdf"
    download.value.save_as(card)
    text = subprocess.run(["pdftotext", "-layout", str(card), "-"], capture_output=True, check=True).stdout.decode()
    assert number in text and key in text

    page.reload()
    row = page.locator(f"#ship-{number}")
    row.locator("select[name=courier]").select_option(label="顺丰速运")
    tracking = f"SF{uuid.uuid4().hex[:12].upper()}"
    row.locator("input[name=tracking_number]").fill(tracking)  # as a scanner types it
    row.locator("input[name=tracking_number]").press("Enter")
    expect(page.locator(f"#parcel-{number}")).to_contain_text(tracking)
    page.screenshot(path=str(screenshots / "shipping.png"))

    order = committed(lambda s: order_of(s, number))
    assert order.status is OrderStatus.SHIPPED
    sms = committed(lambda s: s.scalars(select(SmsMessage).where(SmsMessage.order_id == order.id,
                                                                 SmsMessage.template == "shipped")).one())
    assert tracking in sms.body
