"""The working-day SLA clock, on real dates of China's official calendar.

Every holiday date used here is checked against chinese_calendar first
(test_the_official_dates_these_tests_rely_on), so a wrong expectation is not mistaken
for a wrong clock.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.calendar import CalendarOverride, SlaPolicy
from models.order import Order
from models.order_state import BusinessType, OrderStatus
from review import sla
from review.sla import DAY, WorkingCalendar

SH = ZoneInfo("Asia/Shanghai")
HOUR = 3600
OFFICIAL = WorkingCalendar()


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> dt.datetime:
    """A Shanghai wall-clock time, as the UTC moment the code receives."""
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH).astimezone(dt.UTC)


def policy(target: int = 3, limit: int = 5) -> SlaPolicy:
    return SlaPolicy(business_type=BusinessType.NEW, target_days=target, limit_days=limit)


def started(now: dt.datetime, calendar: WorkingCalendar = OFFICIAL, target: int = 3, limit: int = 5) -> Order:
    order = Order(status=OrderStatus.PAID, business_type=BusinessType.NEW)
    sla.start_clock(order, calendar, policy(target, limit), now)
    return order


def test_the_official_dates_these_tests_rely_on():
    workday, holiday = chinese_calendar.is_workday, chinese_calendar.is_holiday
    # Spring Festival 2026: Feb 15 (Sun) to Feb 23 (Mon) off, Saturdays Feb 14 and 28 worked.
    assert all(holiday(dt.date(2026, 2, d)) for d in range(15, 24))
    assert workday(dt.date(2026, 2, 14)) and workday(dt.date(2026, 2, 28))
    # National Day 2025: Oct 1–8 off, Sunday Sep 28 and Saturday Oct 11 worked.
    assert all(holiday(dt.date(2025, 10, d)) for d in range(1, 9))
    assert workday(dt.date(2025, 9, 28)) and workday(dt.date(2025, 10, 11))
    # National Day 2026: Oct 1–7 off, Saturday Oct 10 worked.
    assert all(holiday(dt.date(2026, 10, d)) for d in range(1, 8))
    assert workday(dt.date(2026, 10, 10)) and workday(dt.date(2026, 10, 8))
    # March 2026 is plain Monday to Friday.
    assert [d for d in range(1, 32) if workday(dt.date(2026, 3, d))] == [
        2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 16, 17, 18, 19, 20, 23, 24, 25, 26, 27, 30, 31]
    with pytest.raises(NotImplementedError):
        workday(dt.date(2031, 3, 3))


def test_paid_on_friday_afternoon_is_due_next_wednesday_same_time():
    order = started(at(2026, 3, 6, 15, 30))
    assert order.sla_started_at == at(2026, 3, 6, 15, 30)
    assert order.sla_due_at == at(2026, 3, 11, 15, 30)
    assert order.sla_limit_at == at(2026, 3, 13, 15, 30)
    assert order.sla_due_at.tzinfo == dt.UTC
    assert order.sla_due_at == dt.datetime(2026, 3, 11, 7, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize("start,days,due", [
    # Spring Festival 2026: the Saturday before counts, nine days off, then Tue and Wed.
    (at(2026, 2, 13, 10), 3, at(2026, 2, 25, 10)),
    (at(2026, 2, 13, 10), 5, at(2026, 2, 27, 10)),
    # ...and the Saturday after it is a working day too.
    (at(2026, 2, 26, 10), 3, at(2026, 3, 2, 10)),
    # National Day 2025: Sunday Sep 28 counts, Oct 1–8 do not, Saturday Oct 11 does.
    (at(2025, 9, 26, 14), 3, at(2025, 9, 30, 14)),
    (at(2025, 9, 26, 14), 5, at(2025, 10, 10, 14)),
    (at(2025, 10, 9, 9), 3, at(2025, 10, 13, 9)),
    # National Day 2026: the week off, then Thu, Fri and the working Saturday Oct 10.
    (at(2026, 9, 30, 16), 3, at(2026, 10, 10, 16)),
])
def test_due_time_skips_holidays_and_counts_adjusted_weekend_days(start, days, due):
    assert OFFICIAL.add_working_days(start, days) == due


def test_clock_started_on_a_holiday_runs_from_the_next_working_day():
    # Paid during National Day 2025: Oct 9, 10 and the working Saturday 11 make three days,
    # so it is due when Saturday ends.
    assert OFFICIAL.add_working_days(at(2025, 10, 3, 11), 3) == at(2025, 10, 12)
    # A plain weekend: one working day is all of Monday.
    assert OFFICIAL.add_working_days(at(2026, 3, 7, 10), 1) == at(2026, 3, 10)


def test_a_working_day_started_at_midnight_ends_that_evening_not_after_the_weekend():
    assert OFFICIAL.add_working_days(at(2026, 3, 6), 1) == at(2026, 3, 7)


def test_admin_overrides_win_over_the_official_calendar():
    calendar = WorkingCalendar({dt.date(2026, 3, 11): False, dt.date(2026, 3, 14): True,
                                dt.date(2026, 10, 2): True})
    assert not calendar.is_workday(dt.date(2026, 3, 11))
    assert calendar.is_workday(dt.date(2026, 3, 14))
    assert calendar.is_workday(dt.date(2026, 10, 2))
    order = started(at(2026, 3, 6, 15, 30), calendar)
    assert order.sla_due_at == at(2026, 3, 12, 15, 30)  # Mon, Tue, (Wed off), Thu
    assert order.sla_limit_at == at(2026, 3, 14, 15, 30)  # Fri, and the Saturday made a working day


def test_a_year_the_package_does_not_know_falls_back_to_monday_to_friday_and_says_so():
    assert not OFFICIAL.covers(dt.date(2031, 3, 3))
    assert OFFICIAL.is_workday(dt.date(2031, 3, 3))  # a Monday
    assert not OFFICIAL.is_workday(dt.date(2031, 3, 8))  # a Saturday
    assert OFFICIAL.add_working_days(at(2031, 1, 10, 10), 3) == at(2031, 1, 15, 10)
    warning = sla.uncovered_warning(OFFICIAL, at(2031, 1, 10, 10), at(2031, 1, 15, 10))
    assert warning is not None and "2031" in warning and "Monday to Friday" in warning


def test_uncovered_warning_names_only_the_uncovered_years():
    start = at(2026, 12, 30, 10)
    due = OFFICIAL.add_working_days(start, 5)
    assert due == at(2027, 1, 7, 10)  # New Year's Day 2027 is computed as a holiday (models.statutory_holidays)
    warning = sla.uncovered_warning(OFFICIAL, start, due, None)
    assert "2027" in warning and "2026" not in warning
    assert sla.uncovered_warning(OFFICIAL, start, at(2026, 12, 31, 23, 59)) is None
    assert "2027, 2030 and 2031" in sla.uncovered_warning(
        OFFICIAL, at(2031, 5, 1), at(2027, 1, 1), at(2030, 1, 1), at(2031, 6, 1))


def test_local_dates_decide_the_year():
    # 2027-01-01 00:30 in Shanghai is still 2026 in UTC.
    assert "2027" in sla.uncovered_warning(OFFICIAL, at(2027, 1, 1, 0, 30))


def test_an_override_covers_its_day_in_an_unknown_year():
    calendar = WorkingCalendar({dt.date(2031, 1, 1): False})
    assert calendar.covers(dt.date(2031, 1, 1)) and not calendar.covers(dt.date(2031, 1, 2))
    assert not calendar.is_workday(dt.date(2031, 1, 1))


def test_working_seconds_between_counts_only_working_days():
    friday_evening, monday_morning = at(2026, 3, 6, 18), at(2026, 3, 9, 9)
    assert OFFICIAL.working_seconds_between(friday_evening, monday_morning) == 15 * HOUR
    assert OFFICIAL.working_seconds_between(monday_morning, friday_evening) == -15 * HOUR
    assert OFFICIAL.working_seconds_between(at(2026, 3, 7, 1), at(2026, 3, 8, 23)) == 0
    assert OFFICIAL.working_seconds_between(at(2025, 9, 30, 12), at(2025, 10, 9, 12)) == DAY


def test_shift_goes_backward_over_the_weekend():
    assert OFFICIAL.shift(at(2026, 3, 9, 9), -15 * HOUR) == at(2026, 3, 6, 18)
    assert OFFICIAL.add_working_days(at(2026, 3, 11, 15, 30), -3) == at(2026, 3, 6, 15, 30)


def test_add_working_days_agrees_with_chinese_calendar_find_workday_all_through_2025():
    for day in chinese_calendar.get_workdays(dt.date(2025, 1, 1), dt.date(2025, 12, 31)):
        for n in (1, 3, 5):
            expected = chinese_calendar.find_workday(n, day)
            assert OFFICIAL.add_working_days(at(day.year, day.month, day.day, 10), n) == at(
                expected.year, expected.month, expected.day, 10), (day, n)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        OFFICIAL.add_working_days(dt.datetime(2026, 3, 6, 15, 30), 3)


def test_pause_then_resume_two_days_later_extends_the_due_time_by_the_pause():
    order = started(at(2026, 3, 2, 10))
    assert (order.sla_due_at, order.sla_limit_at) == (at(2026, 3, 5, 10), at(2026, 3, 9, 10))
    sla.pause_clock(order, OFFICIAL, at(2026, 3, 3, 10))
    order.status = OrderStatus.MORE_MATERIALS_NEEDED
    assert (order.sla_paused_target_seconds, order.sla_paused_limit_seconds) == (2 * DAY, 4 * DAY)
    assert (order.sla_due_at, order.sla_limit_at) == (at(2026, 3, 5, 10), at(2026, 3, 9, 10))

    sla.resume_clock(order, OFFICIAL, at(2026, 3, 5, 10))
    assert (order.sla_due_at, order.sla_limit_at) == (at(2026, 3, 9, 10), at(2026, 3, 11, 10))
    assert order.sla_paused_target_seconds is None and order.sla_paused_limit_seconds is None


def test_a_pause_over_the_weekend_adds_only_its_working_time():
    order = started(at(2026, 3, 4, 10))
    old_due = order.sla_due_at
    assert old_due == at(2026, 3, 9, 10)
    paused_at, resumed_at = at(2026, 3, 6, 18), at(2026, 3, 9, 9)
    sla.pause_clock(order, OFFICIAL, paused_at)
    sla.resume_clock(order, OFFICIAL, resumed_at)
    assert order.sla_due_at == at(2026, 3, 10, 1)
    assert OFFICIAL.working_seconds_between(old_due, order.sla_due_at) == 15 * HOUR
    assert OFFICIAL.working_seconds_between(paused_at, resumed_at) == 15 * HOUR


def test_an_order_paused_when_late_is_still_late_after_resuming():
    order = started(at(2026, 3, 2, 10))
    sla.pause_clock(order, OFFICIAL, at(2026, 3, 6, 10))
    assert (order.sla_paused_target_seconds, order.sla_paused_limit_seconds) == (-DAY, DAY)
    sla.resume_clock(order, OFFICIAL, at(2026, 3, 11, 10))
    order.status = OrderStatus.PAID
    assert (order.sla_due_at, order.sla_limit_at) == (at(2026, 3, 10, 10), at(2026, 3, 12, 10))
    assert sla.time_left(order, OFFICIAL, at(2026, 3, 11, 10)).label() == "overdue 1d 0h"


def test_pausing_twice_or_resuming_a_running_clock_changes_nothing():
    order = started(at(2026, 3, 2, 10))
    sla.resume_clock(order, OFFICIAL, at(2026, 3, 3, 10))
    assert (order.sla_due_at, order.sla_limit_at) == (at(2026, 3, 5, 10), at(2026, 3, 9, 10))
    sla.pause_clock(order, OFFICIAL, at(2026, 3, 3, 10))
    sla.pause_clock(order, OFFICIAL, at(2026, 3, 10, 10))
    assert order.sla_paused_target_seconds == 2 * DAY


def test_time_left_is_none_before_the_clock_starts():
    assert sla.time_left(Order(status=OrderStatus.AWAITING_PAYMENT), OFFICIAL, at(2026, 3, 2)) is None


@pytest.mark.parametrize("now,state,label", [
    (at(2026, 3, 2, 12), "on_track", "2d 22h left"),
    (at(2026, 3, 4, 9, 59), "on_track", "1d 0h left"),
    (at(2026, 3, 4, 10), "due_soon", "1d 0h left"),
    (at(2026, 3, 5, 5), "due_soon", "5h left"),
    (at(2026, 3, 5, 9, 30), "due_soon", "<1h left"),
    (at(2026, 3, 5, 10), "overdue", "overdue <1h"),
    (at(2026, 3, 6, 13), "overdue", "overdue 1d 3h"),
    (at(2026, 3, 7, 12), "overdue", "overdue 1d 14h"),  # a weekend adds nothing
    (at(2026, 3, 9, 10), "breached", "overdue 2d 0h, past the limit"),
])
def test_time_left_states(now, state, label):
    # Started Monday 10:00: target Thursday 10:00, limit next Monday 10:00.
    left = sla.time_left(started(at(2026, 3, 2, 10)), OFFICIAL, now)
    assert (left.state, left.label()) == (state, label)
    assert left.seconds == OFFICIAL.working_seconds_between(now, at(2026, 3, 5, 10))


def test_time_left_while_paused_stands_still():
    order = started(at(2026, 3, 2, 10))
    sla.pause_clock(order, OFFICIAL, at(2026, 3, 2, 15))
    order.status = OrderStatus.MORE_MATERIALS_NEEDED
    for now in (at(2026, 3, 2, 16), at(2026, 3, 20, 9)):
        left = sla.time_left(order, OFFICIAL, now)
        assert (left.state, left.seconds, left.days, left.hours) == ("paused", 2 * DAY + 19 * HOUR, 2, 19)
        assert left.label() == "paused (2d 19h left)"


def test_due_windows_end_with_working_days():
    thursday, friday, saturday = at(2026, 3, 5, 10), at(2026, 3, 6, 10), at(2026, 3, 7, 10)
    assert sla.due_window(OFFICIAL, thursday, "overdue") == (None, thursday)
    assert sla.due_window(OFFICIAL, thursday, "due_today") == (thursday, at(2026, 3, 6))
    assert sla.due_window(OFFICIAL, thursday, "due_in_1_day") == (thursday, at(2026, 3, 7))
    # On Friday "tomorrow" is Monday; on a day off "today" is the next working day.
    assert sla.due_window(OFFICIAL, friday, "due_in_1_day") == (friday, at(2026, 3, 10))
    assert sla.due_window(OFFICIAL, saturday, "due_today") == (saturday, at(2026, 3, 10))
    assert sla.due_window(OFFICIAL, saturday, "due_in_1_day") == (saturday, at(2026, 3, 11))
    # Spring Festival: from the eve, the next working day after Saturday Feb 14 is Feb 24.
    assert OFFICIAL.end_of_working_day(at(2026, 2, 14, 20), 1) == at(2026, 2, 25)
    with pytest.raises(ValueError):
        sla.due_window(OFFICIAL, thursday, "someday")


def test_due_today_holds_what_falls_due_between_now_and_midnight():
    lo, hi = sla.due_window(OFFICIAL, at(2026, 3, 5, 10), "due_today")
    assert lo <= started(at(2026, 3, 2, 23, 59)).sla_due_at < hi
    assert not lo <= started(at(2026, 3, 2, 9)).sla_due_at < hi  # already overdue
    assert not lo <= started(at(2026, 3, 3, 10)).sla_due_at < hi  # due on Friday


# Whole seconds: the clock counts in seconds, while a stored time may carry microseconds.
moments = st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2027, 12, 31),
                       timezones=st.just(dt.UTC)).map(lambda m: m.replace(microsecond=0))
working_moments = st.builds(
    lambda day, second: dt.datetime.combine(day, dt.time(), SH) + dt.timedelta(seconds=second),
    st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31)).filter(OFFICIAL.is_workday),
    st.integers(1, DAY - 1),
)
quick = settings(database=None, deadline=None, max_examples=300)


@quick
@given(moments, working_moments)
def test_shift_undoes_working_seconds_between(a, b):
    assert OFFICIAL.shift(a, OFFICIAL.working_seconds_between(a, b)) == b


@quick
@given(moments, st.integers(-80 * DAY, 80 * DAY))
def test_working_seconds_between_measures_a_shift(a, seconds):
    assert OFFICIAL.working_seconds_between(a, OFFICIAL.shift(a, seconds)) == seconds


@quick
@given(moments, moments)
def test_working_seconds_between_is_antisymmetric(a, b):
    assert OFFICIAL.working_seconds_between(a, b) == -OFFICIAL.working_seconds_between(b, a)


def test_load_calendar_applies_the_admins_overrides(db_session):
    db_session.add_all([
        CalendarOverride(day=dt.date(2026, 3, 11), is_workday=False, note="office move", added_by="admin"),
        CalendarOverride(day=dt.date(2031, 1, 4), is_workday=True, note="make-up day", added_by="admin"),
    ])
    db_session.flush()
    calendar = sla.load_calendar(db_session)
    assert not calendar.is_workday(dt.date(2026, 3, 11))
    assert calendar.is_workday(dt.date(2031, 1, 4)) and calendar.covers(dt.date(2031, 1, 4))
    assert calendar.is_workday(dt.date(2026, 3, 12))


@pytest.mark.parametrize("business_type,target,limit", [
    (BusinessType.NEW, 3, 5), (BusinessType.RENEWAL, 3, 5), (BusinessType.UNLOCK, 1, 2),
    (BusinessType.REPLACEMENT, 5, 5), (BusinessType.INFO_CHANGE, 3, 5), (BusinessType.REVOCATION, 1, 2),
])
def test_policy_for_reads_the_seeded_policies(db_session, business_type, target, limit):
    found = sla.policy_for(db_session, business_type)
    assert (found.business_type, found.target_days, found.limit_days) == (business_type, target, limit)
