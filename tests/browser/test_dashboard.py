"""A senior reviewer signs in on a desk with demo applications and lands on the dashboard: the backlog
per queue, the review time, each reviewer's decisions and each station's keys as the database has them,
a chart one click away, and the dashboard's workbook downloaded with the page's figures."""
from __future__ import annotations

import dataclasses
import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from backoffice.demo_data import load_applications
from issuance import ceremony
from issuance.authority import Keyring
from issuance.settings import CaSettings
from models import ReviewQueue, StaffRole
from models.base import utcnow
from models.business_time import BUSINESS_TZ
from models.working_days import load_calendar
from reports import dashboard as figures
from review.operations import fill_working_seconds
from tests import factories
from tests.browser.conftest import LAPTOP, STAFF_PASSWORD, console_sign_in, writing_to
from tests.conftest import add_staff
from web.extensions import db

pytestmark = pytest.mark.browser

REVIEWERS = {"zhangwei": "审核员 张伟", "liuyang": "审核员 刘洋", "chenjing": "审核员 陈静"}
ADMINS = {"sunlei": "管理员 孙磊", "wuhao": "管理员 吴昊"}  # who hold the CA's ceremony


@pytest.fixture
def demo_desk(live_app, tmp_path):
    """Three reviewers who decided the demo applications, the station staff member who had their keys
    programmed at the demo stations (the CA's ceremony held first, as make run holds it, so that the
    keys have their certificates), the decisions' working time filled as the migration's command
    fills it, and the senior reviewer who signs in: her TOTP secret."""
    with writing_to(live_app):
        for username, name in REVIEWERS.items():
            add_staff(db.session, StaffRole.REVIEWER, username, display_name=name)
        add_staff(db.session, StaffRole.FULFILLMENT, "liuqiang", display_name="制证员 刘强")
        admins = [add_staff(db.session, StaffRole.ADMIN, username, display_name=name)
                  for username, name in ADMINS.items()]
        settings = dataclasses.replace(CaSettings.from_config(live_app.config), signer="keyfile",
                                       key_folder=tmp_path / "ca")
        settings.key_folder.mkdir()
        ceremony.hold_ceremony(db.session, settings, admins)
        load_applications(db.session, 160, now=utcnow(), seed=25, keyring=Keyring(settings),
                          store=factories.folder_store(live_app.config["UPLOAD_FOLDER"]))
        fill_working_seconds(db.session)
        senior = add_staff(db.session, StaffRole.SENIOR_REVIEWER, "zhoumin", password=STAFF_PASSWORD,
                           display_name="高级审核员 周敏")
        secret = senior.totp_secret
        db.session.commit()
        return secret


def _figures(live_app) -> figures.Dashboard:
    """The dashboard of the last 30 days, as the page computes it now."""
    with live_app.app_context():
        now = utcnow()
        last_days = figures.ReportFilter.last_days(now.astimezone(BUSINESS_TZ).date())
        return figures.dashboard(db.session, last_days, load_calendar(db.session), now)


def test_the_dashboard_shows_the_desk_as_the_database_has_it(page: Page, live_server: str, live_app, demo_desk,
                                                             tmp_path, screenshots):
    page.set_viewport_size(LAPTOP)
    console_sign_in(page, live_server, "zhoumin", demo_desk)
    expect(page).to_have_url(re.compile(r"/console/dashboard$"))  # a senior reviewer's first page
    board = _figures(live_app)
    new = next(load for load in board.backlog if load.queue is ReviewQueue.NEW)
    assert new.waiting > 0 and board.review_time.decided > 0
    cells = page.locator(f"#backlog-{ReviewQueue.NEW.value} td")
    expect(cells).to_have_text([re.compile(r"\S"), str(new.waiting), str(new.overdue), str(new.due_within_a_day)])
    expect(page.locator("#review-time td").first).to_have_text(str(board.review_time.decided))
    expect(page.locator("#review-time td").nth(1)).to_have_text(f"{board.review_time.median_hours:.1f}")
    busiest = max(board.throughput, key=lambda row: row[2])
    expect(page.locator("#throughput tbody tr").filter(has_text=busiest[1]).filter(
        has_text=busiest[0].isoformat()).locator("td").last).to_have_text(str(busiest[2]))
    expect(page.locator("#rejection-reasons tbody tr").first).not_to_contain_text("—")
    day, station, keys = board.issuance[0]  # the latest day a station programmed keys
    expect(page.locator("#issuance tbody tr").first.locator("td")).to_have_text([day.isoformat(), station, str(keys)])
    page.screenshot(path=str(screenshots / "dashboard.png"))

    with page.expect_download() as downloading:
        page.locator("#dashboard-downloads a").first.click()
    workbook = tmp_path / downloading.value.suggested_filename
    downloading.value.save_as(workbook)
    backlog = load_workbook(workbook).worksheets[1]
    assert [cell.value for cell in backlog[2]][1:] == [new.waiting, new.overdue, new.due_within_a_day]

    page.locator("#report-links a").first.click()  # backlog ageing
    chart = page.locator("figure.report-chart img")
    expect(chart).to_be_visible()
    assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
    expect(page.locator("#report-table tbody tr")).to_have_count(6)  # 0 to 5 or more working days
