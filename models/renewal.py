"""When a certificate may be renewed (证书更新): from 89 days before it expires until 365 days after.

Days are counted on the CA's calendar (Beijing time): days left = the expiry date − today, so the
expiry day itself is day 0, the day before it day 1, the day after it day −1.
"""
from __future__ import annotations

import datetime as dt

from models.business_time import days_between

OPENS_DAYS_LEFT = 89  # renewable once at most this many days are left
CLOSES_DAYS_EXPIRED = 365  # and until this many days after the expiry day


def days_left(not_after: dt.datetime, now: dt.datetime) -> int:
    """The expiry date minus today, both in Beijing time (negative once expired)."""
    return days_between(now, not_after)


def renewable(not_after: dt.datetime, now: dt.datetime) -> bool:
    return -CLOSES_DAYS_EXPIRED <= days_left(not_after, now) <= OPENS_DAYS_LEFT
