"""The charted reports in the console: a chart as SVG with nothing that runs, its numbers as a table,
and downloads (CSV, XLSX, PDF with Chinese text) holding the same numbers."""
from __future__ import annotations

import csv
import io
import subprocess

import pytest
from openpyxl import load_workbook

from models import StaffRole
from reports.tables import REPORTS
from tests import factories

RANGE = "from=2026-01-01&to=2026-12-31"


@pytest.fixture
def orders(app, db_session):
    for _ in range(3):
        factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])  # mailing address in 河南省


@pytest.mark.parametrize("name", list(REPORTS))
def test_every_report_draws_its_chart_without_scripts(client, login_as, orders, name):
    login_as(StaffRole.SENIOR_REVIEWER)
    page = client.get(f"/console/reports/{name}?{RANGE}")
    assert page.status_code == 200 and 'id="report-table"' in page.get_data(as_text=True)
    chart = client.get(f"/console/reports/{name}/chart.svg?{RANGE}")
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    assert chart.data.startswith(b"<svg") and b"<script" not in chart.data
    assert "script-src" not in chart.headers["Content-Security-Policy"]
    assert "default-src 'none'" in chart.headers["Content-Security-Policy"]


def test_downloads_hold_the_numbers_of_the_table(client, login_as, orders):
    login_as(StaffRole.ADMIN)
    url = f"/console/reports/volume-region?{RANGE}"
    page = client.get(url).get_data(as_text=True)
    assert "<td>河南省</td><td class=\"text-right\">3</td>" in page
    rows = list(csv.reader(io.StringIO(client.get(url + "&export=csv").data.decode("utf-8-sig"))))
    assert rows[1] == ["河南省", "3"]
    sheet = load_workbook(io.BytesIO(client.get(url + "&export=xlsx").data)).active
    assert [cell.value for cell in sheet[2]] == ["河南省", 3]
    pdf = client.get(url + "&export=pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.data, capture_output=True,
                          check=True).stdout.decode()
    assert "河南省" in text and "3" in text.split("河南省", 1)[1]


def test_an_unknown_report_is_not_found(client, login_as):
    login_as(StaffRole.SENIOR_REVIEWER)
    assert client.get("/console/reports/nothing").status_code == 404
