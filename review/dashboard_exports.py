"""The dashboard's downloads (review.dashboard_views asks for them with ?export=): one table as CSV
(?table= names it), every table in one XLSX workbook (the filters on the first sheet, then a sheet per
table, as a manager forwards them) and the whole dashboard as PDF, for the page's filters."""
from __future__ import annotations

import datetime as dt

from flask import Response, abort, render_template
from flask_babel import gettext as _

from models.business_time import BUSINESS_TZ
from reports import exports
from reports.dashboard import Dashboard
from reports.dashboard_tables import filters_table, sections
from reports.pdf import get_renderer
from reports.tables import Table
from review.downloads import attachment
from review.navigation import QUEUE_LABELS

DASHBOARD_CSS = """
h1 { font-size: 14pt; } h2 { font-size: 11pt; margin: 5mm 0 1mm; } .filters { color: #555; }
table { border-collapse: collapse; font-size: 9pt; }
th, td { border: 0.5pt solid #888; padding: 1mm 2mm; } th { text-align: left; } td.n { text-align: right; }
td:first-child { white-space: nowrap; }
"""


def download(fmt: str, table: str | None, board: Dashboard, chinese: bool, channel: str | None,
             now: dt.datetime) -> Response:
    """The download `fmt` asks for; `channel` names the channel filtered by, if any."""
    found = sections(board, QUEUE_LABELS, chinese)
    filters, printed = board.filters, now.astimezone(BUSINESS_TZ)
    if fmt == "csv":
        section = next((section for section in found if section.name == table), None) or abort(404)
        body = exports.csv_bytes(_headers(section.table), section.table.rows)
        return attachment(body, fmt, f"dashboard-{section.name}", filters)
    if fmt == "xlsx":
        about = filters_table(filters, channel, printed)
        body = exports.workbook_bytes([(_("Filters"), _headers(about), about.rows)] + [
            (section.sheet, _headers(section.table), section.table.rows) for section in found])
    else:
        html = render_template("pdf/dashboard.html", sections=found, filters=filters, channel=channel,
                               printed=printed)
        body = get_renderer().render(html, DASHBOARD_CSS)
    return attachment(body, fmt, "dashboard", filters)


def _headers(table: Table) -> list[str]:
    return [str(header) for header in table.headers]
