"""The dashboard's downloads hold the numbers its page shows, for the page's filters: each table as CSV,
every table in one XLSX workbook, the whole dashboard as PDF with its Chinese text."""
from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import select

from models import RejectionReason, StaffRole
from tests.reports.test_dashboard import NOW, figures  # noqa: F401 (the fixture)

pytestmark = pytest.mark.usefixtures("figures")

NOVEMBER = "from=2026-11-01&to=2026-11-30"
SECTIONS = ["backlog", "compliance", "review-time", "rejection-reasons", "throughput", "issuance"]


@pytest.fixture
def senior(client, login_as):
    """A senior reviewer signed in on Wednesday 25 November 2026, 10:00 in Beijing, the fixture's now."""
    with time_machine.travel(NOW, tick=False):
        login_as(StaffRole.SENIOR_REVIEWER)
        yield client


def page_rows(page: str, section: str) -> list[list[str]]:
    """The cells of a section's table as the page shows them, header row left out."""
    table = page.split(f'id="{section}">', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1] if "<tbody>" in table else table
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
             for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def same(value) -> str | float:
    """A cell of either kind of file, to compare: numbers as numbers, days as ISO dates, nothing as ""."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if value is None or value == "":
        return ""
    try:
        return float(value)
    except ValueError:
        return str(value)


def test_each_table_as_csv_and_all_in_one_workbook_hold_the_page_numbers(senior):
    page = senior.get(f"/console/dashboard?{NOVEMBER}").get_data(as_text=True)
    backlog = page_rows(page, "backlog")
    assert ["新办申请", "3", "1", "1"] in backlog  # one overdue, one due by Friday (Thursday is off)
    tables = {}
    for section in SECTIONS:
        response = senior.get(f"/console/dashboard?{NOVEMBER}&export=csv&table={section}")
        assert response.mimetype == "text/csv"
        assert f'filename="dashboard-{section}-20261101-20261130.csv"' in response.headers["Content-Disposition"]
        tables[section] = read_csv(response.data)
    for section in ("backlog", "review-time", "rejection-reasons", "throughput", "issuance"):
        assert tables[section][1:] == page_rows(page, section), section
    assert [row[1] for row in tables["review-time"][1:]] == ["11", "10.0", "18.0"]  # results, median, p90
    # This week 1 of 2 on time, this month 2 of 3: the page's "50% (1 of 2)" and "67% (2 of 3)".
    new = next(row for row in tables["compliance"] if row[0] == page_rows(page, "compliance")[0][0])
    assert new[1:] == ["2", "1", "50.0", "3", "2", "66.7"]
    assert page_rows(page, "compliance")[0][1].startswith("50%")

    workbook = load_workbook(io.BytesIO(senior.get(f"/console/dashboard?{NOVEMBER}&export=xlsx").data))
    about, *sheets = workbook.worksheets
    assert [same(about[cell].value) for cell in ("B2", "B3")] == ["2026-11-01", "2026-11-30"]
    assert len(sheets) == len(SECTIONS)
    for sheet, section in zip(sheets, SECTIONS, strict=True):
        assert [[cell.value for cell in row] for row in sheet.iter_rows(max_row=1)][0] == tables[section][0]
        rows = [[same(cell.value) for cell in row] for row in sheet.iter_rows(min_row=2)]
        assert rows == [[same(cell) for cell in row] for row in tables[section][1:]], section
    assert [cell.value for cell in sheets[0]["A2":"D2"][0]] == ["新办申请", 3, 1, 1]  # numbers stay numbers


def test_the_pdf_shows_every_table_with_its_chinese_text(senior, db_session):
    response = senior.get(f"/console/dashboard?{NOVEMBER}&export=pdf")
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert 'filename="dashboard-20261101-20261130.pdf"' in response.headers["Content-Disposition"]
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=response.data, capture_output=True,
                          check=True).stdout.decode()
    assert re.search(r"新办申请\s+3\s+1\s+1\n", text)
    first, second = db_session.scalars(select(RejectionReason.text_zh).order_by(RejectionReason.position)).all()[:2]
    assert re.search(rf"{re.escape(first)}\s+2\n", text) and re.search(rf"{re.escape(second)}\s+2\n", text)
    assert re.search(r"2026-11-24\s+Wang\s+7\n", text) and re.search(r"2026-11-25\s+A-01\s+1\n", text)
    assert "2026-11-01 – 2026-11-30" in text


def test_the_downloads_keep_the_filters_of_the_page(senior, db_session):
    page = senior.get(f"/console/dashboard?{NOVEMBER}&type=new").get_data(as_text=True)
    links = [html.unescape(href) for href in re.findall(r'href="(/console/dashboard\?[^"]+)"', page)]
    wanted = {("xlsx", None), ("pdf", None), *(("csv", section) for section in SECTIONS)}
    found = set()
    for link in links:
        query = {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}
        assert {key: query[key] for key in ("from", "to", "type")} == {
            "from": "2026-11-01", "to": "2026-11-30", "type": "new"}
        found.add((query["export"], query.get("table")))
    assert found == wanted
    first, second = db_session.scalars(select(RejectionReason.text_zh).order_by(RejectionReason.position)).all()[:2]
    reasons = read_csv(senior.get(f"/console/dashboard?{NOVEMBER}&type=new&export=csv&table=rejection-reasons").data)
    # Without the replacement's rejection: the second reason first.
    assert reasons[1:] == [[second, "2"], [first, "1"]] == page_rows(page, "rejection-reasons")


def test_an_unknown_table_is_not_found_and_a_reviewer_gets_no_download(client, login_as, senior):
    assert senior.get(f"/console/dashboard?{NOVEMBER}&export=csv&table=nothing").status_code == 404
    assert senior.get(f"/console/dashboard?{NOVEMBER}&export=csv").status_code == 404
    login_as(StaffRole.REVIEWER)
    assert client.get(f"/console/dashboard?{NOVEMBER}&export=xlsx").status_code == 403
