"""Years chinese_calendar does not know yet: the statutory holidays are computed from the rules
(models.statutory_holidays), the adjusted weekends stay unknown (the warning says so), and an
admin imports the announced schedule with `flask calendar import FILE.csv`."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from sqlalchemy import select

from models import AuditEntry, CalendarOverride
from models import statutory_holidays as statutory
from models.statutory_holidays import qingming, statutory_holidays
from models.working_days import load_calendar
from review import sla
from review.sla import WorkingCalendar

SH = ZoneInfo("Asia/Shanghai")
OFFICIAL = WorkingCalendar()
D = dt.date


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH).astimezone(dt.UTC)


def test_2027_is_a_year_the_package_does_not_know():
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(2027, 1, 4))
    assert not OFFICIAL.covers(D(2027, 1, 1))


def test_new_years_day_2027_is_not_a_working_day():
    assert D(2027, 1, 1).weekday() == 4  # a Friday
    assert not OFFICIAL.is_workday(D(2027, 1, 1))
    assert OFFICIAL.is_workday(D(2026, 12, 31)) and OFFICIAL.is_workday(D(2027, 1, 4))


def test_spring_festival_2027_from_its_eve():
    # Lunar new year 2027 is 6 February; the 12th month before it has 29 days, so the eve is 5 February.
    assert [day for day, name in statutory_holidays(2027).items() if name == statutory.SPRING_FESTIVAL] == [
        D(2027, 2, 5), D(2027, 2, 6), D(2027, 2, 7), D(2027, 2, 8)]
    assert not any(OFFICIAL.is_workday(D(2027, 2, d)) for d in (5, 6, 7, 8))
    assert OFFICIAL.is_workday(D(2027, 2, 4)) and OFFICIAL.is_workday(D(2027, 2, 9))


def test_every_statutory_holiday_of_2027():
    assert statutory_holidays(2027) == {
        D(2027, 1, 1): statutory.NEW_YEAR,
        D(2027, 2, 5): statutory.SPRING_FESTIVAL, D(2027, 2, 6): statutory.SPRING_FESTIVAL,
        D(2027, 2, 7): statutory.SPRING_FESTIVAL, D(2027, 2, 8): statutory.SPRING_FESTIVAL,
        D(2027, 4, 5): statutory.QINGMING,
        D(2027, 5, 1): statutory.LABOUR_DAY, D(2027, 5, 2): statutory.LABOUR_DAY,
        D(2027, 6, 9): statutory.DRAGON_BOAT,  # 5th of the 5th lunar month
        D(2027, 9, 15): statutory.MID_AUTUMN,  # 15th of the 8th lunar month
        D(2027, 10, 1): statutory.NATIONAL_DAY, D(2027, 10, 2): statutory.NATIONAL_DAY,
        D(2027, 10, 3): statutory.NATIONAL_DAY,
    }
    # The ones on weekdays are days off; Labour Day (Sat, Sun) and 2–3 October (Sat, Sun) fall on weekends.
    for day in (D(2027, 4, 5), D(2027, 6, 9), D(2027, 9, 15), D(2027, 10, 1)):
        assert day.weekday() < 5 and not OFFICIAL.is_workday(day)
    assert OFFICIAL.is_workday(D(2027, 5, 3)) and OFFICIAL.is_workday(D(2027, 10, 4))


def test_a_working_day_clock_across_spring_festival_2027_skips_it():
    # Wed 3 Feb 10:00 + 3 working days: Thu 4, (Fri 5 eve, weekend, Mon 8 off), Tue 9, Wed 10.
    assert OFFICIAL.add_working_days(at(2027, 2, 3, 10), 3) == at(2027, 2, 10, 10)
    assert OFFICIAL.working_seconds_between(at(2027, 2, 4, 18), at(2027, 2, 9, 9)) == 6 * 3600 + 9 * 3600
    # Paid on New Year's Day: the clock starts on Monday 4 January.
    assert OFFICIAL.add_working_days(at(2027, 1, 1, 11), 1) == at(2027, 1, 5)


def test_the_warning_still_shows_for_2027_and_names_the_adjusted_weekends():
    warning = sla.uncovered_warning(OFFICIAL, at(2027, 2, 3, 10), at(2027, 2, 10, 10))
    assert warning is not None and "2027" in warning
    assert "Monday to Friday less the statutory holidays" in warning
    assert "调休" in warning and "State Council" in warning and "imports" in warning


def test_overrides_win_over_the_computed_holidays():
    calendar = WorkingCalendar({D(2027, 2, 8): True, D(2027, 2, 20): True})
    assert calendar.is_workday(D(2027, 2, 8)) and calendar.is_workday(D(2027, 2, 20))
    assert not calendar.is_workday(D(2027, 2, 5))


@pytest.mark.parametrize("year", range(2015, 2027))
def test_every_computed_holiday_is_a_holiday_in_chinese_calendar(year):
    """The rules in force each year (no eve and one Labour Day before 2025) against the published
    calendars: each computed date is a named holiday there (not merely a weekend). The reverse does
    not hold: the published calendars also hold the bridge days."""
    for day, name in statutory_holidays(year).items():
        off, festival = chinese_calendar.get_holiday_detail(day)
        assert chinese_calendar.is_holiday(day) and off, (day, name)
        assert festival is not None, (day, name, "a weekend, not a holiday")


def test_the_rules_changed_in_2025():
    assert D(2024, 2, 9) not in statutory_holidays(2024)  # the eve, a working Friday in 2024
    assert D(2024, 5, 2) not in statutory_holidays(2024)
    assert D(2025, 1, 28) in statutory_holidays(2025) and D(2025, 5, 2) in statutory_holidays(2025)
    assert len(statutory_holidays(2025)) == 13 and len(statutory_holidays(2024)) == 11


def test_qingming_matches_chinese_calendars_solar_terms_all_century():
    for year in range(2001, 2100):
        [(day, _)] = chinese_calendar.get_solar_terms(D(year, 4, 1), D(year, 4, 10))
        assert qingming(year) == day, year


def test_years_beyond_the_lunar_library_fall_back_to_monday_to_friday():
    assert not statutory.knows(2100)
    with pytest.raises(ValueError):
        statutory_holidays(2100)
    assert OFFICIAL.is_workday(D(2100, 1, 1))  # a Friday: nothing computed that far ahead
    assert sla.uncovered_warning(OFFICIAL, at(2100, 1, 1, 10)) is not None


# --- flask calendar import ----------------------------------------------------------


def write(tmp_path, text: str, name: str = "schedule.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


SCHEDULE_2027 = """date,kind,note
2027-02-05,holiday,春节
2027-02-06,holiday,春节
2027-02-07,holiday,春节
2027-02-08,holiday,春节
2027-02-09,holiday,春节
2027-02-10,holiday,春节
2027-02-11,holiday,春节
2027-02-20,workday,春节调休
2027-01-30,workday,
"""


def overrides(session) -> dict[dt.date, tuple[bool, str | None, str]]:
    return {o.day: (o.is_workday, o.note, o.added_by) for o in session.scalars(select(CalendarOverride))}


def test_import_a_years_schedule(runner, db_session, tmp_path):
    result = runner.invoke(args=["calendar", "import", write(tmp_path, SCHEDULE_2027)])
    assert result.exit_code == 0, result.output
    assert "2027: 7 holiday(s) and 2 workday(s) imported" in result.output
    saved = overrides(db_session)
    assert saved[D(2027, 2, 9)] == (False, "春节", "cli")
    assert saved[D(2027, 2, 20)] == (True, "春节调休", "cli")
    assert saved[D(2027, 1, 30)] == (True, None, "cli")
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "calendar.imported")).one()
    assert entry.actor == "cli" and entry.after["2027-02-20"] == "workday (春节调休)" and entry.before is None
    assert "schedule.csv" in entry.note and "2027" in entry.note
    # What the review pages load on their next request.
    calendar = load_calendar(db_session)
    assert not calendar.is_workday(D(2027, 2, 10)) and calendar.is_workday(D(2027, 2, 20))
    assert calendar.covers(D(2027, 2, 20))
    # Wed 3 Feb + 3 working days: Thu 4, then the announced week off (5–11), Fri 12, Mon 15.
    assert calendar.add_working_days(at(2027, 2, 3, 10), 3) == at(2027, 2, 15, 10)


def test_import_names_both_years_of_a_file_across_new_year(runner, db_session, tmp_path):
    text = ("date,kind,note\n2026-12-31,holiday,\n2027-01-01,holiday,元旦\n2027-01-02,holiday,元旦\n"
            "2027-01-09,workday,\n")
    result = runner.invoke(args=["calendar", "import", write(tmp_path, text)])
    assert result.exit_code == 0, result.output
    assert "2026: 1 holiday(s) and 0 workday(s) imported" in result.output
    assert "2027: 2 holiday(s) and 1 workday(s) imported" in result.output


def test_reimport_replaces_the_overrides_of_those_dates(runner, db_session, tmp_path):
    db_session.add(CalendarOverride(day=D(2027, 2, 20), is_workday=False, note="CA 团建", added_by="admin:1"))
    db_session.add(CalendarOverride(day=D(2027, 3, 1), is_workday=False, note="kept", added_by="admin:1"))
    db_session.commit()
    assert runner.invoke(args=["calendar", "import", write(tmp_path, SCHEDULE_2027)]).exit_code == 0
    fixed = SCHEDULE_2027.replace("2027-02-11,holiday,春节", "2027-02-11,workday,corrected")
    result = runner.invoke(args=["calendar", "import", write(tmp_path, fixed, "fixed.csv")])
    assert result.exit_code == 0, result.output
    assert "9 existing override(s) replaced" in result.output
    saved = overrides(db_session)
    assert saved[D(2027, 2, 11)] == (True, "corrected", "cli")
    assert saved[D(2027, 2, 20)] == (True, "春节调休", "cli")
    assert saved[D(2027, 3, 1)] == (False, "kept", "admin:1")  # a date not in the file stays
    assert len([day for day in saved if day.year == 2027]) == 10
    first, second = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "calendar.imported")
                                       .order_by(AuditEntry.id)).all()
    assert first.before == {"2027-02-20": "holiday (CA 团建)"}
    assert second.before["2027-02-11"] == "holiday (春节)" and second.after["2027-02-11"] == "workday (corrected)"


@pytest.mark.parametrize("text,errors", [
    ("", ["the file is empty"]),
    ("date,kind,note\n", ["the file has no rows"]),
    ("day,type,note\n2027-02-05,holiday,\n", ["line 1: the header must be date,kind,note"]),
    ("date,kind,note\n2027-02-05,holiday,\n2027-02-30,holiday,\n", ["line 3: bad date '2027-02-30'"]),
    ("date,kind,note\n2027/02/05,holiday,\n2027-02-06,holiday,\n", ["line 2: bad date '2027/02/05'"]),
    ("date,kind,note\n2027-02-05,vacation,\n", ["line 2: bad kind 'vacation'"]),
    ("date,kind,note\n2027-02-05\n", ["line 2: bad kind ''"]),
    ("date,kind,note\n2027-02-05,holiday,\n2027-02-06,holiday,\n2027-02-05,workday,\n",
     ["line 4: 2027-02-05 is already on line 2"]),
    ("date,kind,note\n2027-02-05,holiday,a,b\n", ["line 2: 4 columns"]),
    ("date,kind,note\n2027-02-05,holiday," + "长" * 256 + "\n", ["line 2: the note is longer than 255"]),
    # Every bad row is named, blank lines counted.
    ("date,kind,note\n2027-02-05,holiday,\n\nnot a date,holiday,\n2027-02-07,sometimes,\n",
     ["line 4: bad date 'not a date'", "line 5: bad kind 'sometimes'"]),
])
def test_a_bad_file_imports_nothing_and_names_the_lines(runner, db_session, tmp_path, text, errors):
    before = overrides(db_session)
    result = runner.invoke(args=["calendar", "import", write(tmp_path, text)])
    assert result.exit_code != 0
    for error in errors:
        assert error in result.output
    assert "nothing imported" in result.output
    assert overrides(db_session) == before
    assert db_session.scalars(select(AuditEntry).where(AuditEntry.action == "calendar.imported")).first() is None
