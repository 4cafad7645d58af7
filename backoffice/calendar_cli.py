"""Commands of the working-day calendar: `calendar import FILE.csv`, the State Council's announced
schedule of a year (holidays, bridge days and adjusted working weekends) as calendar overrides.

The file is CSV with a header `date,kind,note`: `date` as YYYY-MM-DD, `kind` either `holiday` or
`workday`, `note` optional (e.g. 春节). Every row is checked before anything is written: one bad
row (a bad date or kind, a date twice, a note too long) imports nothing, and the errors name the
file's line numbers. An imported date replaces the override the date had.

The review pages load the overrides on every request (models.working_days.load_calendar), so they
count the imported days at once. Due times computed before the import are not recomputed.
"""
from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from typing import TextIO

import click
from sqlalchemy import select

from backoffice.cli import CLI_ACTOR
from models import CalendarOverride, record
from web.commands import Commands
from web.extensions import db

calendar_cli = Commands("calendar", help="The working-day calendar: import a year's announced schedule.")

HEADER = ["date", "kind", "note"]
KINDS = {"holiday": False, "workday": True}  # kind -> is_workday
NOTE_MAX = 255
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class ScheduleDay:
    line: int
    day: dt.date
    is_workday: bool
    note: str | None


def _kind(is_workday: bool) -> str:
    return "workday" if is_workday else "holiday"


def read_schedule(file: TextIO) -> tuple[list[ScheduleDay], list[str]]:
    """The rows of a schedule file and, if any row is bad, every error found (with line numbers)."""
    reader = csv.reader(file)
    rows: list[ScheduleDay] = []
    errors: list[str] = []
    header = next(reader, None)
    if header is None:
        return [], ["the file is empty: expected a header date,kind,note and one row per day"]
    if [column.strip().lower() for column in header] not in (HEADER, HEADER[:2]):
        return [], [f"line 1: the header must be date,kind,note, not {','.join(header)}"]
    first_line: dict[dt.date, int] = {}
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader, None)
        except csv.Error as bad:
            errors.append(f"line {start}: not readable as CSV ({bad})")
            break
        if fields is None:
            break
        line = start
        if not any(field.strip() for field in fields):
            continue  # a blank line
        if len(fields) > len(HEADER):
            errors.append(f"line {line}: {len(fields)} columns, expected at most {len(HEADER)} (date,kind,note)")
            continue
        text, kind, note = (fields + ["", ""])[:3]
        text, kind, note = text.strip(), kind.strip().lower(), note.strip()
        day = None
        if _ISO_DATE.fullmatch(text):
            try:
                day = dt.date.fromisoformat(text)
            except ValueError:
                pass
        if day is None:
            errors.append(f"line {line}: bad date {text!r} (expected YYYY-MM-DD)")
        if kind not in KINDS:
            errors.append(f"line {line}: bad kind {kind!r} (expected holiday or workday)")
        if len(note) > NOTE_MAX:
            errors.append(f"line {line}: the note is longer than {NOTE_MAX} characters")
        if day is not None and day in first_line:
            errors.append(f"line {line}: {day} is already on line {first_line[day]}")
        elif day is not None:
            first_line[day] = line
        if day is not None and kind in KINDS and len(note) <= NOTE_MAX:
            rows.append(ScheduleDay(line, day, KINDS[kind], note or None))
    if not rows and not errors:
        errors.append("the file has no rows: nothing to import")
    return rows, errors


@calendar_cli.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
def import_schedule(file: TextIO) -> None:
    """Import a year's announced schedule from FILE (CSV: date,kind,note; kind holiday or workday)
    as calendar overrides, replacing the overrides those dates had. Nothing is imported if a row is bad."""
    rows, errors = read_schedule(file)
    if errors:
        for error in errors:
            click.echo(error, err=True)
        raise click.ClickException(f"nothing imported: {len(errors)} error(s) in {file.name}")
    existing = {override.day: override for override in db.session.scalars(
        select(CalendarOverride).where(CalendarOverride.day.in_([row.day for row in rows])))}
    replaced: dict[str, str] = {}
    for row in rows:
        override = existing.get(row.day)
        if override is None:
            db.session.add(CalendarOverride(day=row.day, is_workday=row.is_workday, note=row.note,
                                            added_by=CLI_ACTOR))
            continue
        replaced[row.day.isoformat()] = _kind(override.is_workday) + (f" ({override.note})" if override.note else "")
        override.is_workday, override.note, override.added_by = row.is_workday, row.note, CLI_ACTOR
    counts = Counter((row.day.year, row.is_workday) for row in rows)
    years = sorted({year for year, _ in counts})
    record(db.session, CLI_ACTOR, "calendar.imported", target="calendar_override",
           before=replaced or None,
           after={row.day.isoformat(): _kind(row.is_workday) + (f" ({row.note})" if row.note else "")
                  for row in sorted(rows, key=lambda row: row.day)},
           note=f"{file.name}: " + ", ".join(map(str, years)))
    for year in years:
        click.echo(f"{year}: {counts[year, False]} holiday(s) and {counts[year, True]} workday(s) imported")
    if replaced:
        click.echo(f"{len(replaced)} existing override(s) replaced")
