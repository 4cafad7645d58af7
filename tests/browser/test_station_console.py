"""The fulfillment screen in Chromium: a fulfillment staff member takes the next job from the queue,
chooses the station and the blank key plugged in there, and watches the real agent program it on
SoftHSM2 step by step until the key is programmed and verified."""
from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from models import StaffRole
from tests.browser.conftest import LAPTOP, STAFF_PASSWORD, console_sign_in
from tests.conftest import add_staff
from tests.station.conftest import approved, committed, station_app, station_credential  # noqa: F401
from tests.station.live import live_station, live_url, wait_for  # noqa: F401
from tests.station.test_programming import check_programmed, password_kept, serial_seen  # noqa: F401

pytestmark = pytest.mark.browser


def test_fulfillment_programs_a_key_from_the_queue(page: Page, live_url, live_station, committed,  # noqa: F811
                                                  approved, tmp_path, screenshots):  # noqa: F811
    fulfillment = committed(lambda session: add_staff(session, StaffRole.FULFILLMENT,
                                                      f"station-{uuid.uuid4().hex[:4]}", password=STAFF_PASSWORD,
                                                      display_name="制证员 刘强"))
    for _ in range(3):
        approved()
    agent = live_station.agents.start()
    label = f"UKEY-{uuid.uuid4().hex[:4]}"
    live_station.blank_key(label)
    serial = wait_for(lambda: serial_seen(committed, live_station.name, label), what="the agent to list the key")

    page.set_viewport_size(LAPTOP)
    console_sign_in(page, live_url, fulfillment.username, fulfillment.totp_secret)
    page.goto(f"{live_url}/console/station/")
    expect(page.locator("#job-queue")).to_be_visible()
    page.screenshot(path=str(screenshots / "station-queue.png"))

    page.click("#claim-next")
    expect(page).to_have_url(re.compile(r"/console/station/jobs/J[0-9A-F]{10}$"))
    page.select_option("select[name=station]", label=live_station.name)
    page.select_option("select[name=serial]", value=serial)
    page.click("#program")

    status = page.locator("#job-status-text")
    expect(status).to_have_text("已写入并验证", timeout=30_000)
    expect(page.locator("#steps .list-group-item-success")).to_have_count(12)
    expect(page.locator("#media-serial")).to_have_text(serial)
    page.screenshot(path=str(screenshots / "station-job.png"))

    public_id = page.url.rsplit("/", 1)[-1]
    assert agent.stop() == 0, agent.output
    check_programmed(committed, public_id, serial, tmp_path)
