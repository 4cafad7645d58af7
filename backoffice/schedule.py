"""The scheduled commands the workers run, and when: what cron lines did before.

Each is the very CLI command a person can run by hand, run by whichever worker claims it when it
is due (web.database.claim), so it runs once per period however many workers there are. Its
next time is set when it is claimed (plus a lease, for a worker that dies while running it) and
again when it ends; a failed run is not hurried (a command may exit 1 after doing its work, as
`ca check-expiry` does once it has warned the admins), its failures are counted and shown by the
health endpoint and `flask --app wsgi worker --status`.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
from dataclasses import dataclass

import click
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from models import ScheduledRun
from models.base import insert_for, update_where, utcnow
from models.business_time import BUSINESS_TZ
from web.database import claim, write_lock

log = logging.getLogger(__name__)
LEASE = dt.timedelta(minutes=30)  # longer than any scheduled command runs
OUTPUT_KEPT = 4000  # characters of a run's output kept, its end


@dataclass(frozen=True)
class Every:
    minutes: int

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        return moment + dt.timedelta(minutes=self.minutes)


@dataclass(frozen=True)
class DailyAt:
    """At a time of day in business time (Beijing)."""

    hour: int
    minute: int = 0

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        local = moment.astimezone(BUSINESS_TZ)
        at = local.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)
        return (at if at > local else at + dt.timedelta(days=1)).astimezone(dt.UTC)


SCHEDULE: dict[str, Every | DailyAt] = {
    "billing sweep": Every(5),  # refunds to send again, invoices the issuer could not make
    "billing cancel-unpaid": Every(60),
    "billing reconcile": DailyAt(10),  # once the provider's bill of yesterday is out
    "station track-parcels": Every(60),
    "ca publish-crl": Every(60),  # well within CRL_NEXT_UPDATE_HOURS
    "ca check-expiry": DailyAt(9),
    "audit seal": Every(6 * 60),  # verify fails when the last seal is older than 26 h
    "audit verify": DailyAt(4),
    "review digest": DailyAt(8, 30),
    "review material-deadlines": DailyAt(10),  # reminders on day 7 and 14, then cancel and refund
    "renewal remind": DailyAt(10, 30),  # 90, 30 and 7 days before expiry and the day after
    "retention purge": DailyAt(3),  # personal data past RETENTION_YEARS
}


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    output: str


def plan(session: Session, names: list[str], now: dt.datetime) -> None:
    """Give every scheduled command its row, due at its next time (a new `Every` one at once);
    rows other workers made first are left as they are."""
    for name in names:
        first = now if isinstance(SCHEDULE[name], Every) else SCHEDULE[name].next_after(now)
        session.execute(insert_for(session, ScheduledRun).values(name=name, due_at=first, runs=0, failures=0)
                        .on_conflict_do_nothing(index_elements=["name"]))
    session.commit()


def run_due(app: Flask, session: Session, worker: str, names: list[str]) -> str | None:
    """Run one scheduled command that is due, if any: its name."""
    now = utcnow()
    due = (select(ScheduledRun.name, ScheduledRun.runs)
           .where(ScheduledRun.name.in_(names), ScheduledRun.due_at <= now)
           .order_by(ScheduledRun.due_at).limit(1))
    taken = claim(session, due, lambda row: _take(session, row, worker, now))
    if not taken:
        return None
    name, run = taken[0].name, taken[0].runs + 1
    outcome = run_command(app, name)
    (log.info if outcome.succeeded else log.error)("%s %s:\n%s", name, "done" if outcome.succeeded else "failed",
                                                   outcome.output.rstrip())
    finished = utcnow()
    update_where(session, ScheduledRun, ScheduledRun.name == name, ScheduledRun.runs == run,
                 due_at=SCHEDULE[name].next_after(finished), running_on=None, finished_at=finished,
                 succeeded=outcome.succeeded, output=outcome.output[-OUTPUT_KEPT:],
                 failures=0 if outcome.succeeded else ScheduledRun.failures + 1)
    session.commit()
    return name


def _take(session: Session, row: Row, worker: str, now: dt.datetime) -> bool:
    return update_where(session, ScheduledRun, ScheduledRun.name == row.name, ScheduledRun.runs == row.runs,
                        runs=row.runs + 1, due_at=now + LEASE, running_on=worker, started_at=now)


def run_command(app: Flask, name: str) -> Outcome:
    """Run the CLI command `name` ("billing sweep") as `flask --app wsgi billing sweep` would, its
    output captured: it succeeded when it exited 0."""
    group, _, leaf = name.partition(" ")
    command = app.cli.commands[group]
    command = command.commands[leaf] if leaf else command
    out = io.StringIO()
    succeeded = False
    # On SQLite its transactions take the write lock at BEGIN, as a request's that writes do: one
    # that read first could not write after a request had (a stale snapshot).
    with write_lock(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            command.main(args=[], prog_name=name, standalone_mode=False)
            succeeded = True
        except SystemExit as exit_:
            succeeded = exit_.code in (0, None)
        except click.ClickException as exc:
            print(f"Error: {exc.format_message()}")
        except Exception as exc:  # the worker goes on; the run is failed and its error kept
            log.exception("%s raised", name)
            print(f"{type(exc).__name__}: {exc}")
    return Outcome(succeeded, out.getvalue())
