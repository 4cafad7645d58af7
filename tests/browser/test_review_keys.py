"""The review screen by keyboard, in Chromium: every shortcut works wherever the focus is except
while typing in a text field, Alt+<key> works there too (the page handles it: headless Chromium
fires no access keys), ? lists them, a failing check pre-selects its reason and document, and the
viewer zooms, turns both ways and pans to every corner."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from models import Order, OrderStatus, StaffRole
from tests import factories
from tests.browser.conftest import LAPTOP, STAFF_PASSWORD, console_sign_in, writing_to
from tests.conftest import add_staff, migrated_app
from tests.serving import served
from web.extensions import db

pytestmark = pytest.mark.browser


@pytest.fixture
def own_live(tmp_path_factory):
    """An app and its server of this test's own: the shared live app is busy with other tests' pages."""
    app = migrated_app(tmp_path_factory, f"sqlite:///{tmp_path_factory.mktemp('keys') / 'keys.db'}")
    with served(app) as url:
        yield app, url
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def two_orders(own_live):
    live_app, _ = own_live
    with writing_to(live_app):
        numbers = [factories.paid_order(db.session, live_app.config["UPLOAD_FOLDER"]).number for _ in range(2)]
        reviewer = add_staff(db.session, StaffRole.REVIEWER, password=STAFF_PASSWORD)
        snapshot = numbers, reviewer.username, reviewer.totp_secret
        db.session.commit()
        return snapshot


def test_the_review_screen_by_keyboard(page: Page, own_live, two_orders):
    live_app, live_server = own_live
    numbers, username, secret = two_orders
    page.set_viewport_size(LAPTOP)
    console_sign_in(page, live_server, username, secret)
    page.goto(f"{live_server}/console/queues/new?q={numbers[0]}")
    page.keyboard.press("n")  # take the next: claimed and open
    expect(page).to_have_url(re.compile(r"/console/orders/\d+U\d+$"))
    expect(page.locator("#approve")).to_be_visible()
    page.wait_for_load_state()  # the keys are set up once the page has loaded

    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_hidden()

    # The viewer: zoom 3x, turn left and right, and scroll to the top-left corner.
    image = page.locator("#doc-business_licence .doc-image")
    for _ in range(5):
        page.keyboard.press("+")
    expect(image).to_have_attribute("data-zoom", re.compile(r"^3\.05$"))
    page.keyboard.press("q")
    expect(image).to_have_attribute("data-rotate", "270")
    page.keyboard.press("e")
    expect(image).to_have_attribute("data-rotate", "0")
    viewer = page.locator("#doc-business_licence .viewer")
    corner = viewer.evaluate("v => { v.scrollLeft = 0; v.scrollTop = 0;"
                             " const i = v.querySelector('img').getBoundingClientRect();"
                             " const b = v.getBoundingClientRect(); return [i.left - b.left, i.top - b.top]; }")
    assert corner[0] >= -1 and corner[1] >= -1  # the image's top-left corner is in view: nothing cut off
    page.keyboard.press("0")

    # Y on each document; one check then marked failing by hand pre-selects its reason and document.
    for _ in range(5):
        page.keyboard.press("y")
    page.keyboard.press("1")
    page.locator("#doc-business_licence .check-fails").nth(1).check()  # seal missing
    expect(page.locator("#kind-business_licence")).to_be_checked()
    selected = page.locator("#reason_ids option:checked")
    expect(selected).to_have_count(1)
    expect(selected).to_have_attribute("data-applies", re.compile("business_licence:seal_present"))

    page.locator("#doc-business_licence .check-fails").nth(1).focus()
    page.keyboard.press("a")  # with a check failing, approval is refused, by the server too
    expect(page.locator(".alert[role=status]")).to_contain_text(re.compile("fails|不符合"))  # the flashed refusal

    # Alt+key works while typing in the note: M asks for more materials, the reason pre-selected.
    page.locator("#doc-business_licence .check-fails").nth(1).check()
    page.fill("#note", "请重新上传加盖公章的营业执照")
    page.locator("#note").focus()
    page.keyboard.press("m")  # typing: a plain M is a letter of the note, not a shortcut
    expect(page.locator("#note")).to_have_value("请重新上传加盖公章的营业执照m")
    with page.expect_navigation():
        page.keyboard.press("Alt+m")
    with live_app.app_context():
        decided = db.session.scalar(select(Order.status).where(Order.number == numbers[0]))
    assert decided == OrderStatus.MORE_MATERIALS_NEEDED
