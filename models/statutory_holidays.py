"""China's statutory public holidays (全体公民放假的节日) of a year, computed from the State Council's
rules: what the working-day calendar (models.working_days) falls back on for a year whose official
calendar is not published yet (chinese_calendar knows up to the year it was released for).

Only the holidays themselves: the bridge days and the adjusted working weekends (调休) that come
with them are decided by the State Council each year and are not computable; an admin imports
them (`flask calendar import`) once they are announced.

The rules, as revised by the State Council (Decree 513 of 2007, 644 of 2013, 795 of 2024):

- New Year's Day: 1 January.
- Spring Festival: the 1st–3rd of the 1st lunar month, with the eve (除夕, the last day of the
  12th lunar month) before 2014 and again from 2025 (before 2014 only the 1st–2nd with the eve).
- Qingming: the day of the Qingming solar term, 4 or 5 April.
- Labour Day: 1 May, and 2 May from 2025.
- Dragon Boat Festival: the 5th of the 5th lunar month.
- Mid-Autumn Festival: the 15th of the 8th lunar month.
- National Day: 1–3 October.
"""
from __future__ import annotations

import datetime as dt

from lunardate import LunarDate

# The three lunar festivals became holidays in 2008; lunardate knows lunar years up to 2099.
FIRST_YEAR, LAST_YEAR = 2008, 2099

NEW_YEAR = "New Year's Day"
SPRING_FESTIVAL = "Spring Festival"
QINGMING = "Qingming"
LABOUR_DAY = "Labour Day"
DRAGON_BOAT = "Dragon Boat Festival"
MID_AUTUMN = "Mid-Autumn Festival"
NATIONAL_DAY = "National Day"

_ONE_DAY = dt.timedelta(days=1)


def knows(year: int) -> bool:
    """Whether the holidays of the year can be computed here."""
    return FIRST_YEAR <= year <= LAST_YEAR


def qingming(year: int) -> dt.date:
    """The day of the Qingming solar term (the sun at 15° of longitude), 4 or 5 April in this century.

    The usual approximation for 2001–2099: day = floor(Y × 0.2422 + 4.81) − floor(Y / 4), Y = year % 100;
    it agrees with chinese_calendar's solar terms for every year of the century (a test checks).
    """
    if not 2001 <= year <= 2099:
        raise ValueError(f"the Qingming approximation holds for 2001–2099, not {year}")
    y = year % 100
    return dt.date(year, 4, int(y * 0.2422 + 4.81) - y // 4)


def _lunar(year: int, month: int, day: int) -> dt.date:
    return LunarDate(year, month, day).to_solar_date()


def statutory_holidays(year: int) -> dict[dt.date, str]:
    """Every statutory holiday of the year under the rules then in force, by date; ValueError for a
    year outside FIRST_YEAR–LAST_YEAR. A date holding two festivals (Mid-Autumn on National Day)
    is named once."""
    if not knows(year):
        raise ValueError(f"statutory holidays are computed for {FIRST_YEAR}–{LAST_YEAR}, not {year}")
    days: dict[dt.date, str] = {}

    def add(day: dt.date, name: str) -> None:
        days.setdefault(day, name)

    add(dt.date(year, 1, 1), NEW_YEAR)
    # The lunar new year falls between 21 January and 20 February, so its eve is in the same year.
    new_year = _lunar(year, 1, 1)
    if year < 2014 or year >= 2025:
        add(new_year - _ONE_DAY, SPRING_FESTIVAL)
    for offset in range(2 if year < 2014 else 3):
        add(new_year + offset * _ONE_DAY, SPRING_FESTIVAL)
    add(qingming(year), QINGMING)
    add(dt.date(year, 5, 1), LABOUR_DAY)
    if year >= 2025:
        add(dt.date(year, 5, 2), LABOUR_DAY)
    add(_lunar(year, 5, 5), DRAGON_BOAT)
    add(_lunar(year, 8, 15), MID_AUTUMN)
    for day in (1, 2, 3):
        add(dt.date(year, 10, day), NATIONAL_DAY)
    return dict(sorted(days.items()))
