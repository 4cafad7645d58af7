"""The dashboard's and the charted reports' statements search indexes, never read a whole table of
orders, decisions, jobs, payments, invoices or certificates: SQLite's EXPLAIN QUERY PLAN, whose planner
goes by the schema alone here (the app never runs ANALYZE), so the plans are those of a full database."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import event, select

from models import BusinessType, Channel
from models.base import utcnow
from models.working_days import load_calendar
from reports import dashboard, tables
from reports.dashboard import ReportFilter
from tests.databases import POSTGRESQL_URL

pytestmark = [pytest.mark.usefixtures("in_app"),
              pytest.mark.skipif(bool(POSTGRESQL_URL),
                                 reason="PostgreSQL's planner goes by the rows it has: a test database has few")]

WHOLE_TABLE = re.compile(r'^SCAN ("?order"?|review_decision|programming_job|payment|invoice|certificate)( |$)')


def plans(session, call) -> dict[str, list[str]]:
    """Each SELECT `call` sends, with the steps of its plan."""
    engine = session.get_bind()
    seen = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    connection = session.connection()
    return {statement: [row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            for statement, parameters in seen if statement.lstrip().startswith("SELECT")}


def filters(session) -> list[ReportFilter]:
    today = dt.date(2026, 11, 25)
    channel_id = session.scalar(select(Channel.id).limit(1))
    return [ReportFilter.last_days(today), ReportFilter.last_days(today, channel_id=channel_id),
            ReportFilter.last_days(today, business_type=BusinessType.RENEWAL)]


@pytest.mark.parametrize("which", range(3), ids=["all", "channel", "business type"])
def test_the_dashboard_and_the_reports_read_no_whole_table(db_session, which):
    chosen = filters(db_session)[which]
    calendar, now = load_calendar(db_session), utcnow()

    def every_figure():
        dashboard.dashboard(db_session, chosen, calendar, now)
        for report in tables.REPORTS.values():
            report.table(db_session, chosen, calendar, now)

    found = plans(db_session, every_figure)
    assert len(found) >= 13
    whole = {statement: steps for statement, steps in found.items() if any(WHOLE_TABLE.match(s) for s in steps)}
    assert not whole
