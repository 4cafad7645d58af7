"""Controller of the dashboard, the first console page of senior reviewers and admins: the figures of
reports.dashboard for the filters in the query string (a date range, a channel, a business type), on
the page or, with ?export=, as its downloads (review.dashboard_exports)."""
from __future__ import annotations

import datetime as dt

from flask import render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from models import BusinessType, Channel, StaffRole
from models.base import utcnow
from models.business_time import BUSINESS_TZ
from reports import dashboard as figures
from reports.tables import REPORTS
from review import dashboard_exports
from review.downloads import EXPORTS
from review.navigation import QUEUE_LABELS, request_calendar
from web.extensions import db
from web.guards import roles_required
from web.request_guard import bounded_int

READERS = (StaffRole.SENIOR_REVIEWER, StaffRole.ADMIN)
DEFAULT_DAYS = 30
LONGEST_RANGE = dt.timedelta(days=731)
# Any day asked for lies within these: the days around them are past what a datetime holds in UTC.
EARLIEST_DAY, LATEST_DAY = dt.date(2000, 1, 1), dt.date(2999, 12, 31)


def asked_days(first: dt.date | None, last: dt.date | None) -> tuple[dt.date | None, dt.date | None, list[str]]:
    """The Beijing days ?from= and ?to= ask for, both included, and what was wrong with them: the
    day given here stands in for one not asked for or not a date."""
    errors, days = [], []
    for name, fallback in (("from", first), ("to", last)):
        text = request.args.get(name) or ""
        try:
            day = dt.date.fromisoformat(text) if text else fallback
        except ValueError:
            errors.append(_("“%(value)s” is not a date: give it as YYYY-MM-DD.", value=text[:20]))
            day = fallback
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            errors.append(_("Choose a day between %(first)s and %(last)s.", first=EARLIEST_DAY, last=LATEST_DAY))
            day = fallback
        days.append(day)
    return days[0], days[1], errors


def report_filter(today: dt.date) -> tuple[figures.ReportFilter, list[str]]:
    """The filters the query string asks for, and what was wrong with it (the defaults stand in)."""
    default = figures.ReportFilter.last_days(today, DEFAULT_DAYS)
    first, last, errors = asked_days(default.first, default.last)
    if last < first:
        errors.append(_("The range ends before it begins: showing the last %(n)d days.", n=DEFAULT_DAYS))
        first, last = default.first, default.last
    elif last - first > LONGEST_RANGE:
        errors.append(_("Choose a range of at most two years."))
        first = last - LONGEST_RANGE
    try:
        business_type = BusinessType(request.args["type"]) if request.args.get("type") else None
    except ValueError:
        errors.append(_("Unknown business type."))
        business_type = None
    return figures.ReportFilter(first, last, request.args.get("channel", type=bounded_int), business_type), errors


@roles_required(*READERS)
def dashboard():
    now = utcnow()
    filters, errors = report_filter(now.astimezone(BUSINESS_TZ).date())
    board = figures.dashboard(db.session, filters, request_calendar(), now)
    chinese = str(get_locale() or "").startswith("zh")
    choices = filter_choices()
    fmt = request.args.get("export")
    if fmt in EXPORTS:
        channel = dict(choices["channels"]).get(filters.channel_id)
        return dashboard_exports.download(fmt, request.args.get("table"), board, chinese, channel, now)
    reasons = [(zh if chinese else en, n) for zh, en, n in board.rejection_reasons]
    args = {key: value for key, value in request.args.items() if key not in ("export", "table") and value}
    return render_template("console/dashboard.html", board=board, filters=filters, errors=errors, reasons=reasons,
                           queue_labels=QUEUE_LABELS, reports=REPORTS, args=args, **choices)


def filter_choices() -> dict:
    """What the filter form offers (console/_report_filters.html)."""
    channels = db.session.execute(select(Channel.id, Channel.name).order_by(Channel.name)).all()
    return {"channels": channels, "business_types": list(BusinessType)}
