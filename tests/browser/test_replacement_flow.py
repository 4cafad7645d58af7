"""补办 in Chromium, from the order query to the parcel: an organisation that lost its key finds its
order behind the SMS code, applies for a replacement with the materials and the proof of its bank
transfer and signs it; finance matches the transfer; a reviewer approves, and the lost key's
certificate is revoked as compromised; the station programs a new key on SoftHSM2 and ships it."""
from __future__ import annotations

import datetime as dt
import io
import re
import uuid

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import select

from documents import drawings
from models import (
    BusinessType,
    Certificate,
    CertificateStatus,
    MaterialKind,
    Order,
    OrderStatus,
    RevocationReason,
    Shipment,
    StaffRole,
    Token,
    TokenState,
)
from notifications.outbox import latest_for
from tests.browser.conftest import LAPTOP, STAFF_PASSWORD, console_sign_in
from tests.conftest import add_staff, sms_code_in
from tests.factories import worker_round
from tests.station.conftest import (  # noqa: F401 - fixtures
    approved,
    client,
    committed,
    fulfillment,
    order_of,
    station_app,
    station_credential,
)
from tests.station.live import live_station, live_url, wait_for  # noqa: F401
from tests.station.test_programming import serial_seen
from tests.station.test_shipping import card, courier_id, programmed  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def delivered(client, committed, programmed):  # noqa: F811
    """A key programmed, mailed and received: (order number, credit code, agent phone, key serial)."""
    number, key, _ = programmed()
    card(client, number)
    tracking = f"SF{uuid.uuid4().hex[:12].upper()}"
    assert client.post(f"/console/station/orders/{number}/ship",
                       data={"courier": courier_id(committed), "tracking_number": tracking}).status_code == 302
    shipment_id = committed(lambda s: s.scalars(select(Shipment.id).where(Shipment.tracking_number == tracking)).one())
    assert client.post(f"/console/station/shipments/{shipment_id}/delivered").status_code == 302
    order = committed(lambda s: order_of(s, number))
    assert order.status is OrderStatus.COMPLETED
    return number, committed(lambda s: order_of(s, number).organisation.credit_code), \
        committed(lambda s: order_of(s, number).agent.phone), key


def _staff(committed, role: StaffRole, prefix: str, name: str):  # noqa: F811
    return committed(lambda s: add_staff(s, role, f"{prefix}-{uuid.uuid4().hex[:4]}", password=STAFF_PASSWORD,
                                         display_name=name))


def _console(browser, base: str, staff) -> Page:
    """A browser of the staff member's own, signed in to the console."""
    desk = browser.new_context(viewport=LAPTOP).new_page()
    console_sign_in(desk, base, staff.username, staff.totp_secret)
    return desk


def _captcha(page: Page, base: str) -> None:
    token = page.input_value("[name=captcha_token]")
    page.fill("[name=captcha]", page.request.get(f"{base}/_test/captcha?t={token}").text())


def _code_sent_to(committed, phone: str) -> str:  # noqa: F811
    return committed(lambda s: sms_code_in(latest_for(s, phone).text))


def _through_the_order_query(page: Page, base: str, committed, service: str, credit_code: str,  # noqa: F811
                             phone: str) -> None:
    """From the home page's tile, the order query (the organisation's credit code, the agent's SMS code)
    and on to the service's first page."""
    page.click(f"#service-{service}")
    expect(page).to_have_url(re.compile(rf"/query\?for={service}$"))
    page.fill("[name=id_number]", credit_code)
    page.fill("[name=agent_phone]", phone)
    _captcha(page, base)
    page.click("#send-query-code")
    page.fill("#sms_code", _code_sent_to(committed, phone))
    page.click("#confirm-query-code")
    expect(page).to_have_url(re.compile(rf"/{service}$"))


def _picture(tmp_path, kind: str) -> str:
    path = tmp_path / f"{kind}.jpg"
    buffer = io.BytesIO()
    drawn = drawings.draw(MaterialKind(kind)) if kind == MaterialKind.PAYMENT_PROOF else \
        Image.new("RGB", (320, 200), (30, 90, 160))
    drawn.convert("RGB").save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def test_a_lost_key_is_replaced_from_the_order_query_to_the_parcel(  # noqa: PLR0915 - one story, told in order
        page: Page, browser, live_url, live_station, committed, delivered, station_app, tmp_path,  # noqa: F811
        screenshots):
    earlier, credit_code, phone, old_key = delivered
    old_serial = committed(lambda s: s.scalars(select(Certificate.serial_number).join(
        Order, Certificate.order_id == Order.id).where(Order.number == earlier)).one())
    page.set_viewport_size(LAPTOP)

    # The applicant: the home page's 证书补办, the order query's SMS code, the list of the seed's columns.
    page.goto(f"{live_url}/c/direct/")
    page.screenshot(path=str(screenshots / "home.png"))
    _through_the_order_query(page, live_url, committed, "replacement", credit_code, phone)
    row = page.locator(f"#order-{earlier}")
    expect(row.locator(".media-number")).to_have_text(old_key)
    expect(row.locator(".card-number")).not_to_have_text("—")
    page.screenshot(path=str(screenshots / "replacement.png"))

    # The form filled in from that order; the cause; the materials with the transfer's receipt; the signature.
    row.get_by_role("link").click()
    expect(page.locator("[name=credit_code]")).to_have_value(credit_code)
    expect(page.locator("#transfer-instructions")).to_be_visible()
    page.check("input[name=cause][value=lost]")
    page.check("#consent")
    _captcha(page, live_url)
    page.click("#submit-application")
    page.click("#confirm-order")
    number = page.url.split("/apply/")[1].split("/")[0]
    kinds = [kind.value for kind in MaterialKind]
    for kind in kinds:
        page.set_input_files(f"input[name={kind}]", _picture(tmp_path, kind))
    page.click("#upload-materials")
    expect(page.locator("img.preview")).to_have_count(len(kinds))
    page.click("#confirm-application")
    page.click("#send-code")
    page.fill("#sms_code", _code_sent_to(committed, phone))
    page.click("#confirm-signature")
    expect(page.locator("main")).to_contain_text(number)
    expect(page.locator("#pay-qr")).to_have_count(0)  # paid by the transfer made beforehand, not by QR code
    replacement = committed(lambda s: order_of(s, number))
    assert replacement.business_type is BusinessType.REPLACEMENT
    assert replacement.status is OrderStatus.AWAITING_PAYMENT
    payer = committed(lambda s: order_of(s, number).organisation.name)

    # Finance matches the receipt to the bank statement: the order is paid and enters the replacement queue.
    finance = _staff(committed, StaffRole.FINANCE, "fin", "财务 陈静")
    desk = _console(browser, live_url, finance)
    desk.goto(f"{live_url}/console/finance/transfers/{number}")
    desk.fill("[name=reference]", f"20261206{uuid.uuid4().int % 10**8:08d}")
    desk.fill("[name=amount]", f"{replacement.price_cents / 100:.2f}")
    desk.fill("[name=value_date]", dt.date.today().isoformat())
    desk.fill("[name=payer_name]", payer)
    desk.locator("#match-form button[type=submit]").click()
    expect(desk.locator(".alert-success")).to_be_visible()
    worker_round(station_app)  # the order enters its queue; the invoice is issued
    assert committed(lambda s: order_of(s, number).status) is OrderStatus.PAID

    # A reviewer claims it from the replacement queue, sees the earlier order beside it, and approves.
    reviewer = _staff(committed, StaffRole.REVIEWER, "rev", "审核员 王芳")
    desk = _console(browser, live_url, reviewer)
    desk.goto(f"{live_url}/console/queues/replacement?q={number}")
    desk.locator(f'tr[data-order="{number}"]').get_by_role("button").click()
    expect(desk.locator(".identity-check[data-outcome=passed]").first).to_be_visible()
    expect(desk.locator("main")).to_contain_text(earlier)
    expect(desk.locator("main")).to_contain_text(old_serial)
    desk.wait_for_load_state()  # the page's buttons are set up once it has loaded
    expect(desk.locator(".doc-tabs [data-doc]")).to_have_count(6)  # the five documents and the payment proof
    for _ in desk.locator(".doc-tabs [data-doc]").all():
        desk.locator(".doc-pane:not(.d-none) [data-action=all-hold]").click()
    for holds in desk.locator("#order-checks input.check-holds").all():  # same organisation, certificate, payment
        holds.check()
    desk.screenshot(path=str(screenshots / "review-replacement.png"))
    desk.click("#approve")
    expect(desk.locator(".alert-success")).to_be_visible()
    worker_round(station_app)  # the signing service revokes the lost key's certificate
    old = committed(lambda s: s.scalars(select(Certificate).where(Certificate.serial_number == old_serial)).one())
    assert old.status is CertificateStatus.REVOKED
    assert old.revocation_reason == RevocationReason.KEY_COMPROMISE
    assert committed(lambda s: s.scalars(select(Token.state).where(Token.serial == old_key)).one()) \
        is TokenState.REVOKED

    # The station: a new blank key, programmed by the real agent, then the card and the parcel.
    fulfillment_staff = _staff(committed, StaffRole.FULFILLMENT, "ful", "制证员 刘强")
    agent = live_station.agents.start()
    label = f"UKEY-{uuid.uuid4().hex[:4]}"
    live_station.blank_key(label)
    new_key = wait_for(lambda: serial_seen(committed, live_station.name, label), what="the agent to list the key")
    desk = _console(browser, live_url, fulfillment_staff)
    desk.goto(f"{live_url}/console/station/")
    desk.locator("#job-queue tr", has_text=number).get_by_role("button").click()
    desk.select_option("select[name=station]", label=live_station.name)
    desk.select_option("select[name=serial]", value=new_key)
    desk.click("#program")
    expect(desk.locator("#job-status-text")).to_have_text("已写入并验证", timeout=30_000)
    assert agent.stop() == 0, agent.output

    desk.goto(f"{live_url}/console/station/")
    desk.click("#shipping-link")
    parcel = desk.locator(f"#ship-{number}")
    with desk.expect_download():
        parcel.get_by_role("button").first.click()
    desk.reload()
    parcel = desk.locator(f"#ship-{number}")
    parcel.locator("select[name=courier]").select_option(label="顺丰速运")
    tracking = f"SF{uuid.uuid4().hex[:12].upper()}"
    parcel.locator("input[name=tracking_number]").fill(tracking)
    parcel.locator("input[name=tracking_number]").press("Enter")
    expect(desk.locator(f"#parcel-{number}")).to_contain_text(tracking)

    assert committed(lambda s: order_of(s, number).status) is OrderStatus.SHIPPED
    new = committed(lambda s: s.scalars(select(Certificate).join(Order, Certificate.order_id == Order.id)
                                        .where(Order.number == number)).one())
    assert new.media_serial == new_key != old_key and new.status is CertificateStatus.VALID

    # The order query now shows the new order shipped, and no after-sale action on the lost key's order.
    page.goto(f"{live_url}/query/results")
    expect(page.locator(f"#order-{number} .parcel")).to_contain_text(tracking)
    expect(page.locator(f"#order-{earlier} .after-sale")).to_have_count(0)


def test_revocation_starts_with_the_order_query_and_lists_the_valid_certificates(
        page: Page, live_url, committed, delivered, screenshots):  # noqa: F811
    earlier, credit_code, phone, key = delivered
    serial = committed(lambda s: s.scalars(select(Certificate.serial_number).join(
        Order, Certificate.order_id == Order.id).where(Order.number == earlier)).one())
    page.set_viewport_size(LAPTOP)
    page.goto(f"{live_url}/c/direct/")
    _through_the_order_query(page, live_url, committed, "revocation", credit_code, phone)
    expect(page.locator(f"#certificate-{serial}")).to_contain_text(key)
    page.screenshot(path=str(screenshots / "revocation.png"))
    page.locator(f"#certificate-{serial} a.revoke").click()
    expect(page.locator("#revoked-certificate")).to_contain_text(serial)
    expect(page.locator("select[name=reason], input[name=reason]").first).to_be_visible()
