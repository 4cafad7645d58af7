"""The dashboard's figures (reports.dashboard.Dashboard) as tables for its downloads: the numbers the
page shows, one table per section of the page, kept numbers (shares in per cent, hours to one
decimal place as the page rounds them) so that a spreadsheet can add them up."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from models import ReviewQueue
from reports.dashboard import Dashboard, ReportFilter
from reports.tables import Table, per_cent
from web.labels import label


@dataclass(frozen=True)
class Section:
    name: str  # the page's section id, in URLs and file names
    sheet: str  # an XLSX sheet's name: Excel takes at most 31 characters
    title: str  # the page's heading
    table: Table


def _hours(hours: float | None) -> float | None:
    return None if hours is None else round(hours, 1)


def sections(board: Dashboard, queue_labels: Mapping[ReviewQueue, str], chinese: bool) -> list[Section]:
    """The page's tables in its order; queues named by `queue_labels`, rejection reasons in Chinese or
    English."""
    time = board.review_time
    return [
        Section("backlog", str(_l("Backlog")), str(_l("Backlog now, per queue")), Table(
            [_l("Queue"), _l("Waiting"), _l("Overdue"), _l("Due within one working day")],
            [(str(queue_labels[load.queue]), load.waiting, load.overdue, load.due_within_a_day)
             for load in board.backlog])),
        Section("compliance", str(_l("SLA compliance")),
                str(_l("SLA compliance: decided within the working-day target")), Table(
            [_l("Business type"), _l("Decided this week"), _l("Within target this week"), _l("This week %"),
             _l("Decided this month"), _l("Within target this month"), _l("This month %")],
            [(label(c.business_type), c.week_decided, c.week_on_time, per_cent(c.week_on_time, c.week_decided),
              c.month_decided, c.month_on_time, per_cent(c.month_on_time, c.month_decided))
             for c in board.compliance])),
        Section("review-time", str(_l("Review time")), str(_l("Review time to a result, in working hours")), Table(
            [_l("Figure"), _l("Value")],
            [(str(_l("Results")), time.decided), (str(_l("Median")), _hours(time.median_hours)),
             (str(_l("90th percentile")), _hours(time.p90_hours))])),
        Section("rejection-reasons", str(_l("Rejection reasons")), str(_l("Rejection reasons, most given first")),
                Table([_l("Reason"), _l("Rejections")],
                      [(zh if chinese else en, n) for zh, en, n in board.rejection_reasons])),
        Section("throughput", str(_l("Decisions")), str(_l("Decisions per reviewer per day")), Table(
            [_l("Day"), _l("Reviewer"), _l("Decisions")], list(board.throughput))),
        Section("issuance", str(_l("Keys programmed")), str(_l("Keys programmed per station per day")), Table(
            [_l("Day"), _l("Station"), _l("Keys")], list(board.issuance))),
    ]


def filters_table(filters: ReportFilter, channel: str | None, printed: dt.datetime) -> Table:
    """What the figures were taken for, and when: the first sheet of the workbook."""
    return Table([_l("Filter"), _l("Value")], [
        (str(_l("First day")), filters.first), (str(_l("Last day")), filters.last),
        (str(_l("Channel")), channel or str(_l("All"))),
        (str(_l("Business type")), label(filters.business_type) if filters.business_type else str(_l("All"))),
        (str(_l("Exported at")), printed),
    ])
