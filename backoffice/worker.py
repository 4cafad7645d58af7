"""`flask --app wsgi worker`: delivers the outboxes, runs the work requests leave (web.jobs) and
the scheduled commands (backoffice.schedule), for as long as it runs.

Run as many as the load needs, on as many machines, beside any number of web processes: every
piece of work is claimed before it is done (web.database.claim), so each is done by one worker.
SIGTERM or Ctrl-C lets the worker finish what it holds, then it stops.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from backoffice import schedule
from models import BankTransfer, EmailMessage, ScheduledRun, SmsMessage, WorkItem, WorkStatus
from models.base import utcnow
from notifications import delivery
from web import jobs
from web.extensions import db

log = logging.getLogger(__name__)
RETRY_AFTER_DATABASE_ERROR = 5.0  # seconds; the database restarting, a failover
LATE = dt.timedelta(minutes=10)  # due this long ago and not done: the workers are behind


def scheduled_names(app: Flask) -> list[str]:
    off = set(app.config["WORKER_SCHEDULE_OFF"])
    unknown = off - set(schedule.SCHEDULE)
    if unknown:
        raise click.ClickException(f"WORKER_SCHEDULE_OFF names no scheduled command: {', '.join(sorted(unknown))}")
    return [name for name in schedule.SCHEDULE if name not in off]


def work_once(app: Flask, worker: str, names: list[str], *, all_due: bool = False) -> int:
    """One round: the due work, one due scheduled command (all that are due with `all_due`), then
    the due messages, those the work queued included. How much was done; 0 means the worker may
    rest."""
    session = db.session
    done = jobs.run_due(session, worker)
    while schedule.run_due(app, session, worker, names):
        done += 1
        if not all_due:
            break
    return done + delivery.deliver_pending(session, delivery.current_gateways(), delivery.current_policy()).handled


@click.command("worker")
@click.option("--once", is_flag=True, help="Do what is due now (every due scheduled command too), then stop.")
@click.option("--status", is_flag=True, help="Show the scheduled commands and the queue, then stop.")
@with_appcontext
def worker_command(once: bool, status: bool) -> None:
    """Deliver the outboxes, run the queued work and the scheduled commands (stop: SIGTERM, Ctrl-C)."""
    app = current_app._get_current_object()
    if status:
        _print_status()
        return
    names = scheduled_names(app)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    schedule.plan(db.session, names, utcnow())
    if once:
        click.echo(f"done {work_once(app, worker, names, all_due=True)}")
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    poll = float(app.config["WORKER_POLL_SECONDS"])
    click.echo(f"worker {worker}: outboxes, queued work and {len(names)} scheduled commands, "
               f"every {poll:g} s when idle")
    work_until(app, worker, names, stop, poll)
    click.echo(f"worker {worker} stopped")


def work_until(app: Flask, worker: str, names: list[str], stop: threading.Event, poll: float) -> None:
    """Work round after round, resting `poll` seconds when a round found nothing, until `stop` is
    set; a database that cannot be reached is tried again a little later. Inside an app context."""
    while not stop.is_set():
        try:
            busy = work_once(app, worker, names)
        except OperationalError:
            log.exception("the database cannot be reached; trying again in %g s", RETRY_AFTER_DATABASE_ERROR)
            db.session.rollback()
            stop.wait(RETRY_AFTER_DATABASE_ERROR)
            continue
        finally:
            db.session.remove()
        if not busy:
            stop.wait(poll)


def _print_status() -> None:
    now = utcnow()
    for run in db.session.scalars(select(ScheduledRun).order_by(ScheduledRun.name)):
        state = "never run" if run.finished_at is None else ("ok" if run.succeeded else f"FAILED x{run.failures}")
        click.echo(f"{run.name:24} due {_ago(run.due_at, now):>12}  last {state}"
                   + (f"  running on {run.running_on}" if run.running_on else ""))
    counts = dict(db.session.execute(select(WorkItem.status, func.count()).group_by(WorkItem.status)).all())
    for status in WorkStatus:
        click.echo(f"work {status.value:8} {counts.get(status, 0)}")


def _ago(moment: dt.datetime, now: dt.datetime) -> str:
    minutes = round((moment - now).total_seconds() / 60)
    return f"in {minutes} min" if minutes >= 0 else f"{-minutes} min late"


def backlog(session, now: dt.datetime) -> dict:
    """What the workers have left undone (the health endpoint's answer): messages and work due
    for over `LATE` (no worker is running, or too few), scheduled commands late or failing, and
    work given up."""
    late = now - LATE
    messages = sum(session.scalar(select(func.count()).select_from(model).where(model.next_attempt_at <= late))
                   for model in (SmsMessage, EmailMessage, BankTransfer))
    work = session.scalar(select(func.count()).select_from(WorkItem).where(
        WorkItem.status.in_((WorkStatus.QUEUED, WorkStatus.RUNNING)), WorkItem.due_at <= late))
    failed_work = session.scalar(select(func.count()).select_from(WorkItem).where(
        WorkItem.status == WorkStatus.FAILED))
    scheduled = session.execute(select(ScheduledRun.name, ScheduledRun.due_at, ScheduledRun.failures)).all()
    return {"messages_late": messages, "work_late": work, "work_failed": failed_work,
            "commands_late": sorted(name for name, due_at, _ in scheduled if due_at <= late),
            "commands_failing": sorted(name for name, _, failures in scheduled if failures)}
