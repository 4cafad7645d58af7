"""The charted reports' numbers: each a table (a label column, then number columns) from aggregate SQL,
for the same filters as the dashboard (reports.dashboard.ReportFilter).

Weekly and monthly figures are grouped by Beijing day or month in the database; the weekly SLA trend
adds at most 182 daily rows into its 26 weeks in Python. Money is in yuan (Decimal) so that exports
keep it a number.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from models import (
    Certificate,
    CertificateStatus,
    Channel,
    Invoice,
    InvoiceKind,
    Order,
    Organisation,
    Payment,
    PaymentStatus,
)
from models.business_time import Days
from models.working_days import DAY, WorkingCalendar
from reports.beijing_sql import business_day, business_month
from reports.dashboard import IN_REVIEW, ReportFilter, as_date
from web.labels import label

WEEKS = 26
AGES = 6  # 0, 1, ... 5 and more working days


@dataclass(frozen=True)
class Table:
    headers: list
    rows: list[tuple]


@dataclass(frozen=True)
class Report:
    title: str
    chart: str  # "bar", "line" or "stacked"
    table: Callable[[Session, ReportFilter, WorkingCalendar, dt.datetime], Table]


def backlog_ageing(session: Session, filters: ReportFilter, calendar: WorkingCalendar, now: dt.datetime) -> Table:
    """The items waiting for review by whole working days since they entered it."""
    bounds = [calendar.shift(now, -days * DAY) for days in range(1, AGES)]
    age = case(*((Order.sla_started_at > bound, days) for days, bound in enumerate(bounds)), else_=AGES - 1)
    rows = dict(session.execute(select(age, func.count()).where(
        Order.queue.is_not(None), Order.status.in_(IN_REVIEW), Order.sla_started_at.is_not(None),
        *filters.orders()).group_by(age)).all())
    names = [str(_l("%(n)d working days", n=days)) for days in range(AGES - 1)] + [
        str(_l("%(n)d or more working days", n=AGES - 1))]
    return Table([_l("Waiting"), _l("Items")], [(names[days], rows.get(days, 0)) for days in range(AGES)])


def sla_trend(session: Session, filters: ReportFilter, calendar: WorkingCalendar, now: dt.datetime) -> Table:
    """Per week (Monday to Sunday), of the orders decided that week, the share within their target;
    the 26 weeks up to the range's last day."""
    last_monday = filters.last - dt.timedelta(days=filters.last.weekday())
    mondays = [last_monday - dt.timedelta(weeks=n) for n in reversed(range(WEEKS))]
    decided = func.coalesce(Order.approved_at, Order.rejected_at)
    day = business_day(decided)
    rows = session.execute(
        select(day, func.count(), func.sum(case((decided <= Order.sla_due_at, 1), else_=0)))
        .where(Order.sla_due_at.is_not(None), *Days(mondays[0], last_monday + dt.timedelta(days=6)).conditions(decided),
               *filters.orders())
        .group_by(day))
    weeks = {monday: [0, 0] for monday in mondays}
    for when, n, on_time in rows:
        monday = as_date(when) - dt.timedelta(days=as_date(when).weekday())
        weeks[monday][0] += n
        weeks[monday][1] += on_time or 0
    return Table([_l("Week from"), _l("Decided"), _l("Within target"), _l("Compliance %")],
                 [(monday, n, on_time, per_cent(on_time, n))
                  for monday, (n, on_time) in weeks.items()])


def per_cent(part: int, whole: int) -> float | None:
    """The share in per cent, to one decimal place; None of nothing."""
    return round(100 * part / whole, 1) if whole else None


def _volume(session: Session, filters: ReportFilter, key, header, *, join=None) -> Table:
    query = select(key, func.count()).select_from(Order).where(*filters.within(Order.created_at), *filters.orders())
    if join is not None:
        query = query.join(*join)
    rows = session.execute(query.group_by(key).order_by(func.count().desc(), key)).all()
    return Table([header, _l("Orders")], [(name, n) for name, n in rows])


def volume_by_channel(session, filters, calendar, now) -> Table:
    return _volume(session, filters, Channel.name, _l("Channel"), join=(Channel, Channel.id == Order.channel_id))


def volume_by_region(session, filters, calendar, now) -> Table:
    """Orders by province (the organisation's, a person's mailing address); codes, named by the page."""
    region = func.coalesce(Organisation.region_province, Order.mailing_province)
    query = (select(region, func.count()).select_from(Order)
             .outerjoin(Organisation, Organisation.id == Order.organisation_id)
             .where(*filters.within(Order.created_at), *filters.orders()))
    rows = session.execute(query.group_by(region).order_by(func.count().desc(), region)).all()
    return Table([_l("Province"), _l("Orders")], [(code, n) for code, n in rows])


def volume_by_business_type(session, filters, calendar, now) -> Table:
    table = _volume(session, filters, Order.business_type, _l("Business type"))
    return Table(table.headers, [(label(bt), n) for bt, n in table.rows])


def revenue(session, filters, calendar, now) -> Table:
    """Per month: the payments received (less those refunded) and the invoices issued."""
    month = business_month(Payment.paid_at)
    paid = dict((m, (n, cents)) for m, n, cents in session.execute(filters.of_orders(
        select(month, func.count(), func.sum(Payment.amount_cents))
        .where(Payment.status == PaymentStatus.PAID, *filters.within(Payment.paid_at)), Payment.order_id)
        .group_by(month)))
    month = business_month(Invoice.issued_at)
    invoiced = dict((m, (n, cents)) for m, n, cents in session.execute(filters.of_orders(
        select(month, func.count(), func.sum(Invoice.total_cents))
        .where(Invoice.kind == InvoiceKind.BLUE, *filters.within(Invoice.issued_at)), Invoice.order_id)
        .group_by(month)))
    rows = []
    for m in sorted(paid.keys() | invoiced.keys()):
        payments, paid_cents = paid.get(m, (0, 0))
        invoices, invoiced_cents = invoiced.get(m, (0, 0))
        rows.append((m, payments, _yuan(paid_cents), invoices, _yuan(invoiced_cents)))
    return Table([_l("Month"), _l("Payments"), _l("Revenue (yuan)"), _l("Invoices"), _l("Invoiced (yuan)")], rows)


def _yuan(cents: int | None) -> Decimal:
    return Decimal(cents or 0).scaleb(-2)


def renewals_due(session, filters, calendar, now) -> Table:
    """Valid certificates by the month they expire: in the next 90 days, or expired at most 365 days ago."""
    month = business_month(Certificate.not_after)
    soon = now + dt.timedelta(days=90)
    rows = session.execute(filters.of_orders(
        select(month, func.sum(case((Certificate.not_after < now, 1), else_=0)),
               func.sum(case((and_(Certificate.not_after >= now, Certificate.not_after < soon), 1), else_=0)))
        .where(Certificate.status == CertificateStatus.VALID, Certificate.not_after >= now - dt.timedelta(days=365),
               Certificate.not_after < soon), Certificate.order_id)
        .group_by(month).order_by(month))
    return Table([_l("Month of expiry"), _l("Expired"), _l("Expiring")], [tuple(row) for row in rows])


REPORTS = {
    "backlog-ageing": Report(_l("Backlog ageing"), "bar", backlog_ageing),
    "sla-trend": Report(_l("SLA compliance per week"), "line", sla_trend),
    "volume-channel": Report(_l("Orders by channel"), "bar", volume_by_channel),
    "volume-region": Report(_l("Orders by province"), "bar", volume_by_region),
    "volume-business-type": Report(_l("Orders by business type"), "bar", volume_by_business_type),
    "revenue": Report(_l("Revenue and invoices per month"), "bar", revenue),
    "renewals-due": Report(_l("Renewals due"), "stacked", renewals_due),
}
