"""The renewal window (证书更新) on the CA's calendar: 89 days left at the most, 365 days expired at
the most; the expiry day is day 0, whatever the hour, in Beijing time."""
from __future__ import annotations

import datetime as dt

import pytest

from models.business_time import BUSINESS_TZ
from models.renewal import days_left, renewable

# A certificate ending at 16:37:02 Beijing time on 30 June 2027 (as the seed's validity shows them).
EXPIRY = dt.datetime(2027, 6, 30, 16, 37, 2, tzinfo=BUSINESS_TZ)


def _at(days_before_expiry: int, hour: int = 9) -> dt.datetime:
    """`days_before_expiry` days before the expiry day, at `hour` Beijing time (negative: after it)."""
    day = EXPIRY.date() - dt.timedelta(days=days_before_expiry)
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=BUSINESS_TZ)


@pytest.mark.parametrize("before, expected", [(90, False), (89, True), (88, True), (0, True),
                                              (-1, True), (-365, True), (-366, False)])
def test_the_window_opens_89_days_before_the_expiry_day_and_closes_365_days_after(before, expected):
    assert days_left(EXPIRY, _at(before)) == before
    assert renewable(EXPIRY, _at(before)) is expected


def test_the_day_is_beijing_s_not_utc_s():
    # 23:30 Beijing time on the day before the 90th-day mark is still 90 days left; UTC says 15:30 that day.
    late = _at(90, hour=23).replace(minute=30)
    assert not renewable(EXPIRY, late.astimezone(dt.UTC))
    # Half an hour later it is the next day in Beijing (16:00 UTC): 89 days left.
    assert renewable(EXPIRY, (late + dt.timedelta(minutes=30)).astimezone(dt.UTC))


def test_the_expiry_day_is_day_0_before_and_after_the_expiry_hour():
    assert days_left(EXPIRY, EXPIRY - dt.timedelta(hours=7)) == 0
    assert days_left(EXPIRY, EXPIRY + dt.timedelta(hours=7)) == 0
