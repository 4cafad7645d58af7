"""`make bench-review`: how many user actions a reviewer needs to decide a typical new application.

A throw-away database with ten paid new applications (five for each way of working), the console
served on 127.0.0.1, Debian's Chromium driven by Playwright. A reviewer signs in (not counted), then
decides five applications in a row from the queue with the mouse, and five by keyboard only; every
click, key press and fill is counted. Prints the mean per application of each:

    actions per application (mouse): N
    actions per application (keyboard): N

It uses only the page hooks an independent script would: `[data-action=next-claim]` (the next
item, claimed and open), `[data-action=all-hold]` in each document's panel (every check holds, then
the next document shows), their keys in `data-key`, and `#approve` (key A).
"""
from __future__ import annotations

import base64
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from flask_migrate import upgrade
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy import select

from backoffice import create_app, demo
from models import Order, OrderStatus, StaffRole
from tests import factories
from tests.browser.conftest import CHROMIUM_ARGS, LAPTOP, STAFF_PASSWORD, console_sign_in
from tests.conftest import add_staff
from tests.serving import served
from web.extensions import db

PER_MODE = 5
DOCUMENTS = 5


@dataclass
class Counted:
    """The page, counting every user action made through it."""

    page: Page
    actions: list[str] = field(default_factory=list)

    def click(self, selector: str) -> None:
        self.actions.append(f"click {selector}")
        self.page.locator(selector).first.click()

    def press(self, key: str) -> None:
        self.actions.append(f"press {key}")
        self.page.keyboard.press(key)


def _config(folder: Path) -> dict:
    key = lambda: base64.b64encode(os.urandom(32)).decode()  # noqa: E731
    return {"APP_ENV": "test", "TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}",
            "UPLOAD_FOLDER": str(folder / "uploads"), "AUDIT_ANCHOR_PATH": str(folder / "anchor.log"),
            "SANDBOX_PAY_LEDGER": str(folder / "ledger.sqlite3"), "RATELIMIT_ENABLED": False,
            "QUEUE_COUNTS_TTL_SECONDS": 0, "SECRET_KEY": key(), "FIELD_ENCRYPTION_KEY": key(),
            "LOOKUP_KEY": key(), "AUDIT_SEAL_KEY": key(), "SIGNING_SERVICE_KEY": key()}


def prepare(app, count: int) -> tuple[str, str, list[str]]:
    """The database: catalogue, a reviewer, `count` paid new applications an hour apart."""
    with app.app_context():
        upgrade()
        for _ in demo.load_catalogue(db.session):
            pass
        reviewer = add_staff(db.session, StaffRole.REVIEWER, f"bench-{uuid.uuid4().hex[:4]}", password=STAFF_PASSWORD)
        numbers = [factories.paid_order(db.session, app.config["UPLOAD_FOLDER"]).number for _ in range(count)]
        db.session.commit()
        return reviewer.username, reviewer.totp_secret, numbers


def decide(counted: Counted, *, keyboard: bool, count: int) -> None:
    """Take the next item and approve it, `count` times in a row: the next one opens by itself
    after each decision, so only the first needs "take the next"."""
    page = counted.page
    for index in range(count):
        if index == 0:
            counted.press("n") if keyboard else counted.click("[data-action=next-claim]")
        expect(page.locator("#approve")).to_be_visible()
        page.wait_for_load_state()  # its keys are set up once the page has loaded
        for _ in range(DOCUMENTS):
            if keyboard:
                counted.press("y")
            else:
                counted.click(".doc-pane:not(.d-none) [data-action=all-hold]")
        with page.expect_navigation():  # to the next item, or back to the queue after the last
            counted.press("a") if keyboard else counted.click("#approve")


def approved(app, numbers: list[str]) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Order).where(Order.number.in_(numbers),
                                                          Order.status == OrderStatus.APPROVED)).all())


def measure(*, keyboard: bool) -> float:
    """Actions per application over PER_MODE applications, on a database of their own (a queue that
    holds just them: the last decision leaves nothing to open)."""
    with tempfile.TemporaryDirectory(prefix="bench-review-") as folder:
        app = create_app(_config(Path(folder)))
        username, secret, numbers = prepare(app, PER_MODE)
        with served(app) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport=LAPTOP)
            console_sign_in(page, url, username, secret)
            page.goto(f"{url}/console/queues/new")
            counted = Counted(page)
            decide(counted, keyboard=keyboard, count=PER_MODE)
            browser.close()
        decided = approved(app, numbers)
        with app.app_context():
            db.engine.dispose()
    if decided != PER_MODE:
        raise SystemExit(f"only {decided} of {PER_MODE} applications were approved")
    return len(counted.actions) / PER_MODE


def main() -> None:
    for mode, keyboard in (("mouse", False), ("keyboard", True)):
        print(f"actions per application ({mode}): {measure(keyboard=keyboard):.1f}")


if __name__ == "__main__":
    main()
