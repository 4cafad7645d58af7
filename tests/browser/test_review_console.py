"""A reviewer signs in with a TOTP code, claims an application, looks at a document, asks
for more materials; the applicant uploads it again through the link; the reviewer approves."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backoffice.demo_data import load_applications
from models import AuditEntry, MaterialKind, Order, OrderStatus, StaffRole
from models.base import utcnow
from notifications.outbox import latest_for
from tests import factories
from tests.browser.conftest import LAPTOP, STAFF_PASSWORD, console_sign_in, writing_to
from tests.conftest import add_staff
from web.extensions import db

pytestmark = pytest.mark.browser


@pytest.fixture
def waiting_order(live_app):
    with writing_to(live_app):
        # A realistic queue around the order under test (it fits on the first page).
        load_applications(db.session, 36, now=utcnow(),
                          store=factories.folder_store(live_app.config["UPLOAD_FOLDER"]))
        order = factories.paid_order(db.session, live_app.config["UPLOAD_FOLDER"])
        reviewer = add_staff(db.session, StaffRole.REVIEWER, "fang", password=STAFF_PASSWORD,
                             display_name="审核员 王芳")
        snapshot = order.number, order.agent.phone, reviewer.totp_secret
        db.session.commit()
        return snapshot


def _every_check_holds(page: Page) -> None:
    """One click per document: "every check holds" answers its checks and shows the next document."""
    for _ in page.locator(".doc-tabs [data-doc]").all():
        page.locator(".doc-pane:not(.d-none) [data-action=all-hold]").click()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 80), (20, 120, 40)).save(out, "PNG")
    return out.getvalue()


def test_review_with_more_materials_then_approval(page: Page, browser, live_server: str, live_app,
                                                  waiting_order, tmp_path, screenshots):
    number, agent_phone, secret = waiting_order
    base = live_server
    page.set_viewport_size(LAPTOP)
    console_sign_in(page, base, "fang", secret)
    expect(page).to_have_url(re.compile(r"/console/queues/new"))
    expect(page.locator("tbody tr")).to_have_count(20)
    expect(page.locator('[data-queue="new"] .badge')).not_to_have_text("0")
    page.screenshot(path=str(screenshots / "queue.png"))
    page.fill(".queue-filters [name=q]", number)  # the queue's own search
    page.click(".queue-filters button[type=submit]")
    row = page.locator(f'tr[data-order="{number}"]')
    expect(row).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(1)

    row.get_by_role("button").click()
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.locator(".identity-check[data-outcome=passed]").first).to_be_visible()
    image = page.locator("#doc-business_licence .doc-image")
    expect(image).to_be_visible()
    page.locator("#doc-business_licence button[data-rotate='90']").click()
    page.locator("#doc-business_licence [data-zoom='1.25']").click()
    expect(image).to_have_attribute("data-rotate", "90")
    expect(image).to_have_attribute("data-zoom", "1.25")
    page.screenshot(path=str(screenshots / "review.png"))
    page.locator("button.reveal[data-field=agent_id_number]").click()
    expect(page.locator('[data-reveal-value="agent_id_number"]')).to_have_text(re.compile(r"^\d{17}[\dX]$"))

    page.check("#kind-business_licence")
    page.fill("#note", "营业执照复印件请加盖公章后重新上传")
    page.click("#more-materials")
    expect(page.locator(".alert-success")).to_contain_text(re.compile("more materials|补充材料"))

    with live_app.app_context():
        link = re.search(r"/apply/\S+/more/\S+", latest_for(db.session, agent_phone).text).group(0)
        order = db.session.scalar(select(Order).where(Order.number == number))
        assert order.status == OrderStatus.MORE_MATERIALS_NEEDED
        viewed = db.session.scalars(select(AuditEntry.action).where(AuditEntry.order_id == order.id)).all()
        assert "material.viewed" in viewed and "order.number_revealed" in viewed

    applicant = browser.new_page()
    applicant.goto(base + link)
    expect(applicant.locator("#material-business_licence")).to_be_visible()
    expect(applicant.locator(f"#material-{MaterialKind.AGENT_ID_FRONT.value}")).to_have_count(0)
    upload = tmp_path / "licence.png"
    upload.write_bytes(_png())
    applicant.set_input_files("input[name=business_licence]", str(upload))
    applicant.click("#send-materials")
    expect(applicant.locator("#resubmitted")).to_be_visible()
    applicant.close()

    page.goto(f"{base}/console/queues/resubmitted")
    # Back to the reviewer who asked (signed in a moment ago): held by her, opened from the queue.
    page.locator(f'tr[data-order="{number}"] a').first.click()
    expect(page.locator(".new-document")).to_have_count(1)  # the re-submitted licence
    page.wait_for_load_state()  # the page's keys are set up once it has loaded
    page.keyboard.press("p")  # beside its earlier version
    expect(page.locator("#doc-business_licence .viewer-earlier")).to_be_visible()
    _every_check_holds(page)
    page.locator(".check-holds").first.focus()  # a check has the focus: the shortcut still works
    page.keyboard.press("a")  # the approve shortcut
    expect(page.locator(".alert-success")).to_contain_text(re.compile("Approved|审核通过|已通过"))
    with live_app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == number))
        assert order.status == OrderStatus.APPROVED
        assert "审核通过" in latest_for(db.session, agent_phone).text
