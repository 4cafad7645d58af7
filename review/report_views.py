"""Controllers of the charted reports (reports.tables): the page (chart and its numbers), the chart as
SVG, and the numbers as CSV, XLSX or PDF, all for the dashboard's filters."""
from __future__ import annotations

import base64

from flask import Response, abort, render_template, request, url_for

from documents import regions
from models.base import utcnow
from models.business_time import BUSINESS_TZ
from reports import exports
from reports.charts import chart_svg
from reports.pdf import get_renderer
from reports.tables import REPORTS, Report, Table
from review.dashboard_views import READERS, filter_choices, report_filter
from review.downloads import EXPORTS, attachment
from review.navigation import request_calendar
from web.extensions import db
from web.guards import roles_required

# The chart is a document of its own: its one <style> is pygal's, and nothing in it may run.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"
REPORT_CSS = """
@page { size: A4 landscape; margin: 12mm; }
h1 { font-size: 14pt; } .filters { color: #555; }
img.chart { width: 100%; }
table { border-collapse: collapse; font-size: 9pt; margin-top: 4mm; }
th, td { border: 0.5pt solid #888; padding: 1mm 2mm; } td.n { text-align: right; }
"""
# Which columns each chart draws (the table has them all).
SERIES = {"sla-trend": (3,), "revenue": (2, 4), "renewals-due": (1, 2)}


def _report(name: str) -> Report:
    return REPORTS.get(name) or abort(404)


def _numbers(name: str):
    """The report, its filters and table (region codes named), and what was wrong with the query."""
    report = _report(name)
    now = utcnow()
    filters, errors = report_filter(now.astimezone(BUSINESS_TZ).date())
    table = report.table(db.session, filters, request_calendar(), now)
    if name == "volume-region":
        table = Table(table.headers, [(regions.province_name(code) or code, n) for code, n in table.rows])
    return report, filters, table, errors


def _svg(name: str, report: Report, table: Table) -> bytes:
    columns = SERIES.get(name, (1,))
    return chart_svg(report.chart, str(report.title), [str(row[0]) for row in table.rows],
                     [(table.headers[c], [row[c] for row in table.rows]) for c in columns])


def _kept() -> dict[str, str]:
    return {key: value for key, value in request.args.items() if key != "export" and value}


@roles_required(*READERS)
def report_page(name: str):
    report, filters, table, errors = _numbers(name)
    fmt = request.args.get("export")
    if fmt in EXPORTS:
        return _export(fmt, name, report, filters, table)
    return render_template("console/report.html", name=name, report=report, filters=filters, table=table,
                           errors=errors, args=_kept(), reports=REPORTS,
                           chart_url=url_for("review.report_chart", name=name, **_kept()), **filter_choices())


@roles_required(*READERS)
def report_chart(name: str):
    report, _filters, table, _errors = _numbers(name)
    response = Response(_svg(name, report, table), content_type="image/svg+xml; charset=utf-8")
    response.headers["Content-Security-Policy"] = SVG_POLICY
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _export(fmt: str, name: str, report: Report, filters, table: Table) -> Response:
    headers = [str(header) for header in table.headers]
    if fmt == "csv":
        body = exports.csv_bytes(headers, table.rows)
    elif fmt == "xlsx":
        body = exports.xlsx_bytes(headers, table.rows, str(report.title))
    else:
        chart = base64.b64encode(_svg(name, report, table)).decode()
        html = render_template("pdf/report.html", report=report, filters=filters, table=table, headers=headers,
                               chart=f"data:image/svg+xml;base64,{chart}", printed=utcnow().astimezone(BUSINESS_TZ))
        body = get_renderer().render(html, REPORT_CSS)
    return attachment(body, fmt, name, filters)
