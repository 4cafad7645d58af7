"""The working-day SLA clock: review targets count China's official working days with the
admins' overrides (models.working_days, which also says what working time is).

All datetimes in and out are timezone-aware; results are UTC.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.calendar import SlaPolicy
from models.order import Order
from models.order_state import BusinessType, CertKind, OrderStatus
from models.working_days import DAY, WorkingCalendar, local_time
from models.working_days import load_calendar as load_calendar  # review's callers read it here


def policy_for(session: Session, business_type: BusinessType, cert_kind: CertKind = CertKind.UNIT) -> SlaPolicy:
    """The SLA policy of a business type for unit or personal certificates; the migrations seed one for
    each, so a missing one raises."""
    return session.execute(select(SlaPolicy).where(SlaPolicy.business_type == business_type,
                                                   SlaPolicy.cert_kind == cert_kind)).scalar_one()


ON_TRACK, DUE_SOON, OVERDUE, BREACHED, PAUSED = "on_track", "due_soon", "overdue", "breached", "paused"
# Decided (approved or rejected): the clock stopped at the decision, before or after the target.
ON_TIME, LATE = "on_time", "late"


@dataclass(frozen=True)
class Span:
    """A length of working time as staff read it: days and hours, or minutes under an hour."""

    days: int
    hours: int
    minutes: int

    @classmethod
    def of(cls, seconds: int) -> Span:
        days, rest = divmod(abs(seconds), DAY)
        hours, rest = divmod(rest, 3600)
        return cls(days, hours, rest // 60)

    @property
    def unit(self) -> str:
        """The suffix of the label that fits: "" (days and hours), "_hours" or "_minutes"."""
        return "" if self.days else "_hours" if self.hours else "_minutes"

    def text(self) -> str:
        if self.days:
            return f"{self.days}d {self.hours}h"
        return f"{self.hours}h" if self.hours else f"{self.minutes} min"


@dataclass(frozen=True)
class TimeLeft(Span):
    """Working time to an order's target, as the queue shows it; for a decided order, how the
    decision stood against the target."""

    seconds: int = 0  # negative when overdue (or decided late)
    state: str = ON_TRACK

    @classmethod
    def of(cls, seconds: int, state: str) -> TimeLeft:
        span = Span.of(seconds)
        return cls(span.days, span.hours, span.minutes, seconds, state)

    @property
    def overdue(self) -> bool:
        """Past the target: running late, past the limit, paused after the target had passed
        (no working time left when the applicant was asked), or decided late."""
        return self.state in (OVERDUE, BREACHED, LATE) or (self.state == PAUSED and self.seconds <= 0)

    def label(self) -> str:
        """Plain English for logs and e-mails to staff; templates translate by state instead."""
        span = self.text() if self.days or self.hours else "<1h"
        if self.state == ON_TIME:
            return "decided on time"
        if self.state == LATE:
            return f"decided late by {span}"
        running = f"overdue {span}" if self.overdue else f"{span} left"
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


def decided_at(order: Order) -> dt.datetime | None:
    """When the order was approved or rejected (the clock stops there); None while undecided.
    A first approval of two is no decision: the order waits in its queue for the second."""
    return getattr(order, "approved_at", None) or getattr(order, "rejected_at", None)


def time_left(order: Order, calendar: WorkingCalendar, now: dt.datetime) -> TimeLeft | None:
    """Where an order (or a queue row with the same columns) stands; None before its clock started.

    A decided order's clock stopped at the decision: on time, or late by the working time from the
    target to the decision. A paused order keeps the working time it had left when the applicant was
    asked, zero or less (overdue) when the target had already passed."""
    if order.sla_started_at is None or order.sla_due_at is None:
        return None
    decided = decided_at(order)
    if decided is not None:
        seconds = calendar.working_seconds_between(decided, order.sla_due_at)
        return TimeLeft.of(seconds, LATE if decided > order.sla_due_at else ON_TIME)
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


def waiting(order: Order, calendar: WorkingCalendar, now: dt.datetime) -> Span | None:
    """Working time since the order entered review (its clock started), pauses included."""
    if order.sla_started_at is None:
        return None
    return Span.of(max(calendar.working_seconds_between(order.sla_started_at, now), 0))


def working_time_used(calendar: WorkingCalendar, started: dt.datetime, now: dt.datetime,
                      pauses: Iterable[tuple[dt.datetime, dt.datetime | None]]) -> int:
    """Working seconds the clock ran from `started` to `now`: the waits for the applicant (`pauses`,
    each from the request for more materials to their arrival, None while still waiting) do not count."""
    used = max(calendar.working_seconds_between(started, now), 0)
    for asked, came in pauses:
        lo, hi = max(asked, started), min(came or now, now)
        if hi > lo:
            used -= calendar.working_seconds_between(lo, hi)
    return max(used, 0)


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
