"""The business time zone: Beijing time, in which the CA's days begin and end (order numbers,
working days, invoice dates, the provider's bills, what staff and applicants read).

Here, at the bottom of the layers, so that every package (reports included) names the same zone;
it needs nothing but the standard library. China has kept UTC+8 without summer time since 1991.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


def day_start(day: dt.date) -> dt.datetime:
    """00:00 of the business day, aware, Beijing time."""
    return dt.datetime.combine(day, dt.time(), tzinfo=BUSINESS_TZ)


def days_between(earlier: dt.datetime, later: dt.datetime) -> int:
    """Calendar days from the business day of `earlier` to that of `later` (negative when later is
    earlier): the same day is 0, whatever the hours."""
    return (later.astimezone(BUSINESS_TZ).date() - earlier.astimezone(BUSINESS_TZ).date()).days


def business_date(moment: dt.datetime) -> str:
    """The business day of a moment as the applicant reads it: YYYY-MM-DD."""
    return f"{moment.astimezone(BUSINESS_TZ):%Y-%m-%d}"


def business_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The business day as [start, end), aware, Beijing time."""
    return day_start(day), day_start(day + dt.timedelta(days=1))


@dataclass(frozen=True)
class Days:
    """A range of business days, both ends included, either end open."""
    first: dt.date | None = None
    last: dt.date | None = None

    def conditions(self, column) -> list[ColumnElement[bool]]:
        """`column` (a timestamp) within the days: from 00:00 of the first to 00:00 after the last."""
        found = []
        if self.first is not None:
            found.append(column >= day_start(self.first))
        if self.last is not None:
            found.append(column < day_start(self.last + dt.timedelta(days=1)))
        return found
