"""The working-day SLA clock: review targets count China's official working days.

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
from dataclasses import dataclass

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.calendar import CalendarOverride, SlaPolicy
from models.order import Order
from models.order_number import BUSINESS_TZ
from models.order_state import BusinessType, OrderStatus

SHANGHAI = BUSINESS_TZ  # the business day is Beijing time
DAY = 86400
_ONE_DAY = dt.timedelta(days=1)
_SECOND = dt.timedelta(seconds=1)


def _local(moment: dt.datetime) -> dt.datetime:
    """The naive Shanghai wall-clock time of an aware moment."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; SLA times are timezone-aware UTC")
    return moment.astimezone(SHANGHAI).replace(tzinfo=None)


def _utc(local: dt.datetime) -> dt.datetime:
    return local.replace(tzinfo=SHANGHAI).astimezone(dt.UTC)


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

    def _official_knows(self, year: int) -> bool:
        # The package only says which years it knows by raising for the others.
        if year not in self._official_years:
            try:
                chinese_calendar.is_workday(dt.date(year, 1, 1))
                self._official_years[year] = True
            except NotImplementedError:
                self._official_years[year] = False
        return self._official_years[year]

    def covers(self, day: dt.date) -> bool:
        """Whether the day is known for sure, rather than guessed as Monday to Friday."""
        return day in self._overrides or self._official_knows(day.year)

    def is_workday(self, day: dt.date) -> bool:
        """An admin override first, then the official calendar; Mon–Fri for years nobody published."""
        known = self._days.get(day)
        if known is None:
            if day in self._overrides:
                known = self._overrides[day]
            elif self._official_knows(day.year):
                known = chinese_calendar.is_workday(day)
            else:
                known = day.weekday() < 5
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
        local = _local(start)
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
        start, end = _local(a), _local(b)
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
        day = self._next_workday(_local(now).date())
        for _ in range(days_ahead):
            day = self._next_workday(day + _ONE_DAY)
        return _utc(_midnight(day + _ONE_DAY))


def load_calendar(session: Session) -> WorkingCalendar:
    """The calendar with every admin override; cheap enough to build once per request."""
    rows = session.execute(select(CalendarOverride.day, CalendarOverride.is_workday))
    return WorkingCalendar({day: is_workday for day, is_workday in rows})


def policy_for(session: Session, business_type: BusinessType) -> SlaPolicy:
    """The SLA policy of a business type; the migration seeds one for each, so a missing one raises."""
    return session.execute(select(SlaPolicy).where(SlaPolicy.business_type == business_type)).scalar_one()


ON_TRACK, DUE_SOON, OVERDUE, BREACHED, PAUSED = "on_track", "due_soon", "overdue", "breached", "paused"


@dataclass(frozen=True)
class TimeLeft:
    """Working time to an order's target, as the queue shows it."""

    seconds: int  # negative when overdue
    days: int
    hours: int
    state: str

    @classmethod
    def of(cls, seconds: int, state: str) -> TimeLeft:
        days, rest = divmod(abs(seconds), DAY)
        return cls(seconds, days, rest // 3600, state)

    def label(self) -> str:
        """Plain English for logs and e-mails to staff; templates translate by state instead."""
        if self.days:
            span = f"{self.days}d {self.hours}h"
        else:
            span = f"{self.hours}h" if self.hours else "<1h"
        running = f"{span} left" if self.seconds > 0 else f"overdue {span}"
        if self.state == PAUSED:
            return f"paused ({running})"
        if self.state == BREACHED:
            return f"{running}, past the limit"
        return running


def start_clock(order: Order, calendar: WorkingCalendar, policy: SlaPolicy, now: dt.datetime) -> None:
    """Paid with complete materials: the target and the hard limit start counting from now."""
    order.sla_started_at = now
    order.sla_due_at = calendar.add_working_days(now, policy.target_days)
    order.sla_limit_at = calendar.add_working_days(now, policy.limit_days)
    order.sla_paused_target_seconds = None
    order.sla_paused_limit_seconds = None


def pause_clock(order: Order, calendar: WorkingCalendar, now: dt.datetime) -> None:
    """Waiting for the applicant does not count: keep the working time left (negative if late).

    The due and limit times stay as they were because the queue sorts by them. Pausing a
    paused clock changes nothing, else the second pause would count the wait as used time.
    """
    if order.sla_due_at is None or order.sla_paused_target_seconds is not None:
        return
    order.sla_paused_target_seconds = calendar.working_seconds_between(now, order.sla_due_at)
    if order.sla_limit_at is not None:
        order.sla_paused_limit_seconds = calendar.working_seconds_between(now, order.sla_limit_at)


def resume_clock(order: Order, calendar: WorkingCalendar, now: dt.datetime) -> None:
    """The materials came back: the time left when paused runs again from now."""
    if order.sla_paused_target_seconds is None:
        return
    order.sla_due_at = calendar.shift(now, order.sla_paused_target_seconds)
    if order.sla_paused_limit_seconds is not None:
        order.sla_limit_at = calendar.shift(now, order.sla_paused_limit_seconds)
    order.sla_paused_target_seconds = None
    order.sla_paused_limit_seconds = None


def time_left(order: Order, calendar: WorkingCalendar, now: dt.datetime) -> TimeLeft | None:
    """Where an order (or a queue row with the same columns) stands; None before its clock started."""
    if order.sla_started_at is None or order.sla_due_at is None:
        return None
    if order.status == OrderStatus.MORE_MATERIALS_NEEDED and order.sla_paused_target_seconds is not None:
        return TimeLeft.of(order.sla_paused_target_seconds, PAUSED)
    seconds = calendar.working_seconds_between(now, order.sla_due_at)
    # Late is judged on the wall clock, as the queue's "overdue" filter does: on a Saturday
    # after a Friday-evening target no working time has passed, yet the target has.
    if order.sla_limit_at is not None and now >= order.sla_limit_at:
        state = BREACHED
    elif now >= order.sla_due_at:
        state = OVERDUE
    elif seconds <= DAY:
        state = DUE_SOON
    else:
        state = ON_TRACK
    return TimeLeft.of(seconds, state)


def due_window(calendar: WorkingCalendar, now: dt.datetime, name: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The [lo, hi) range of due times a queue filter selects; None is open-ended."""
    if name == "overdue":
        return None, now
    if name == "due_today":
        return now, calendar.end_of_working_day(now, 0)
    if name == "due_in_1_day":
        return now, calendar.end_of_working_day(now, 1)
    raise ValueError(f"unknown due window {name!r}")


def uncovered_warning(calendar: WorkingCalendar, *moments: dt.datetime | None) -> str | None:
    """Say so when a date falls in a year without an official calendar: its holidays are guessed."""
    years = sorted({day.year for day in (_local(m).date() for m in moments if m is not None)
                    if not calendar.covers(day)})
    if not years:
        return None
    named = ", ".join(map(str, years[:-1])) + " and " + str(years[-1]) if len(years) > 1 else str(years[0])
    return (f"The official holiday calendar for {named} is not known yet: working days there are counted "
            f"Monday to Friday, so check the due dates by hand.")
