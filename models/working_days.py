"""China's official working days (`chinese_calendar`, adjusted weekends included) with the
CA's own overrides (CalendarOverride), for the review SLA clock and every page that names a
working day. For a year the package does not know yet, Monday to Friday less the statutory
holidays computed from the rules (models.statutory_holidays); its adjusted working weekends
are known only once an admin imports them as overrides.

Working time is the time that falls on working days, whole calendar days in Asia/Shanghai.
"N working days after a moment" is the same clock time N working days later; a clock
started on a day off starts at 00:00 of the next working day. Reaching an amount of
working time exactly at a day boundary gives the instant nearest the start (forward: the
end of the last working day, not 00:00 of the next one), so a due time is never pushed
past a weekend that holds no working time.

All datetimes in and out are timezone-aware; results are UTC. Days are counted on naive
local times inside this module because the business day is Shanghai's, not UTC's.
"""
from __future__ import annotations

import datetime as dt

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import statutory_holidays
from models.business_time import BUSINESS_TZ
from models.calendar import CalendarOverride

DAY = 86400
_ONE_DAY = dt.timedelta(days=1)
_SECOND = dt.timedelta(seconds=1)


def local_time(moment: dt.datetime) -> dt.datetime:
    """The naive Shanghai wall-clock time of an aware moment."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; working times are timezone-aware")
    return moment.astimezone(BUSINESS_TZ).replace(tzinfo=None)


def _utc(local: dt.datetime) -> dt.datetime:
    return local.replace(tzinfo=BUSINESS_TZ).astimezone(dt.UTC)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


class WorkingCalendar:
    """China's official working days, with the CA's own overrides winning.

    Lookups are cached per day: the queue page asks about the same few weeks for every row.
    """

    def __init__(self, overrides: dict[dt.date, bool] | None = None):
        self._overrides = dict(overrides or {})
        self._days: dict[dt.date, bool] = {}
        self._official_years: dict[int, bool] = {}
        self._statutory: dict[int, frozenset[dt.date]] = {}

    def _official_knows(self, year: int) -> bool:
        # The package only says which years it knows by raising for the others.
        if year not in self._official_years:
            try:
                chinese_calendar.is_workday(dt.date(year, 1, 1))
                self._official_years[year] = True
            except NotImplementedError:
                self._official_years[year] = False
        return self._official_years[year]

    def _statutory_holidays(self, year: int) -> frozenset[dt.date]:
        if year not in self._statutory:
            known = statutory_holidays.knows(year)
            self._statutory[year] = frozenset(statutory_holidays.statutory_holidays(year) if known else ())
        return self._statutory[year]

    def covers(self, day: dt.date) -> bool:
        """Whether the day is known for sure, rather than computed from the statutory rules."""
        return day in self._overrides or self._official_knows(day.year)

    def is_workday(self, day: dt.date) -> bool:
        """An admin override first, then the official calendar; for years nobody published yet,
        Monday to Friday less the statutory holidays (adjusted weekends unknown)."""
        known = self._days.get(day)
        if known is None:
            if day in self._overrides:
                known = self._overrides[day]
            elif self._official_knows(day.year):
                known = chinese_calendar.is_workday(day)
            else:
                known = day.weekday() < 5 and day not in self._statutory_holidays(day.year)
            self._days[day] = known
        return known

    def _next_workday(self, day: dt.date) -> dt.date:
        """The day itself if it is a working day, else the next one."""
        while not self.is_workday(day):
            day += _ONE_DAY
        return day

    def add_working_days(self, start: dt.datetime, n: int) -> dt.datetime:
        """The same clock time n working days later (or earlier for negative n)."""
        return self.shift(start, n * DAY)

    def shift(self, start: dt.datetime, seconds: int) -> dt.datetime:
        """Move by an amount of working time, forward or (negative) backward."""
        amount = dt.timedelta(seconds=abs(seconds))
        local = local_time(start)
        return _utc(self._forward(local, amount) if seconds >= 0 else self._backward(local, amount))

    def _forward(self, t: dt.datetime, remaining: dt.timedelta) -> dt.datetime:
        if not remaining:
            return t
        day = t.date()
        while True:
            if self.is_workday(day):
                room = _midnight(day + _ONE_DAY) - t
                if remaining <= room:
                    return t + remaining
                remaining -= room
            day += _ONE_DAY
            t = _midnight(day)

    def _backward(self, t: dt.datetime, remaining: dt.timedelta) -> dt.datetime:
        if not remaining:
            return t
        day = t.date()
        while True:
            if self.is_workday(day):
                room = t - _midnight(day)
                if remaining <= room:
                    return t - remaining
                remaining -= room
            t = _midnight(day)
            day -= _ONE_DAY

    def working_seconds_between(self, a: dt.datetime, b: dt.datetime) -> int:
        """Working time in [a, b) in whole seconds; negative when b is before a."""
        if b < a:
            return -self.working_seconds_between(b, a)
        start, end = local_time(a), local_time(b)
        total = dt.timedelta()
        day = start.date()
        while day <= end.date():
            if self.is_workday(day):
                total += min(end, _midnight(day + _ONE_DAY)) - max(start, _midnight(day))
            day += _ONE_DAY
        return total // _SECOND

    def end_of_working_day(self, now: dt.datetime, days_ahead: int = 0) -> dt.datetime:
        """00:00 after the working day days_ahead working days from today (today, if off, counts as
        the next working day): the upper bound of "due today" and "due tomorrow" in the queues."""
        day = self._next_workday(local_time(now).date())
        for _ in range(days_ahead):
            day = self._next_workday(day + _ONE_DAY)
        return _utc(_midnight(day + _ONE_DAY))


def load_calendar(session: Session) -> WorkingCalendar:
    """The calendar with every admin override; cheap enough to build once per request."""
    rows = session.execute(select(CalendarOverride.day, CalendarOverride.is_workday))
    return WorkingCalendar({day: is_workday for day, is_workday in rows})
