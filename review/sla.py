"""The working-day SLA clock: review targets count China's official working days with the
admins' overrides (models.working_days, which also says what working time is).

All datetimes in and out are timezone-aware; results are UTC.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.calendar import SlaPolicy
from models.order import Order
from models.order_state import BusinessType, OrderStatus
from models.working_days import DAY, WorkingCalendar, local_time
from models.working_days import load_calendar as load_calendar  # review's callers read it here


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
    """Say so when a date falls in a year without an official calendar: its statutory holidays are
    computed, its adjusted working weekends (调休) unknown until announced and imported."""
    years = sorted({day.year for day in (local_time(m).date() for m in moments if m is not None)
                    if not calendar.covers(day)})
    if not years:
        return None
    named = ", ".join(map(str, years[:-1])) + " and " + str(years[-1]) if len(years) > 1 else str(years[0])
    return (f"The official holiday calendar for {named} is not known yet: working days there are counted "
            f"Monday to Friday less the statutory holidays, but the adjusted working weekends (调休) are not "
            f"known until the State Council announces them and an admin imports them (flask calendar import), "
            f"so check the due dates by hand.")
