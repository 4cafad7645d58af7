"""A live server in a thread and Debian's Chromium driven by Playwright."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page

from tests.conftest import migrated_app
from tests.serving import served, working
from web.database import write_lock
from web.extensions import db

README_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
STAFF_PASSWORD = "correct horse 2026"
LAPTOP = {"width": 1366, "height": 768}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium",
            "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def screenshots(request, tmp_path_factory) -> Path:
    """Where the tests save their screenshots: the README's with --update-screenshots (`make
    screenshots`), else a temporary folder, so that a test run changes no tracked file."""
    if request.config.getoption("--update-screenshots"):
        return README_SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'live.db'}"
    app = migrated_app(tmp_path_factory, url)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_app):
    with served(live_app) as url:
        live_app.config["PUBLIC_BASE_URL"] = url  # where the sandbox posts its payment notifications
        yield url


@contextmanager
def writing_to(app) -> Iterator[None]:
    """A test's own writes to a live database: its transactions take SQLite's write lock at BEGIN,
    as the app's requests that write do, since the worker beside the live server writes too (one
    that read first could not write after the worker had: a stale snapshot)."""
    with app.app_context(), write_lock():
        yield


@pytest.fixture(autouse=True)
def live_worker(live_app):
    """A worker beside the live server, as `make run` has, for the length of each browser test
    only: the tests after them swap the session it would use (conftest.rolled_back_session)."""
    with working(live_app):
        yield


def console_sign_in(page: Page, base: str, username: str, totp_secret: str) -> None:
    """Password, then the TOTP code, on the console's sign-in pages."""
    page.goto(f"{base}/console/login")
    page.fill("[name=username]", username)
    page.fill("[name=password]", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.fill("[name=code]", pyotp.TOTP(totp_secret).now())
    page.click("button[type=submit]")
