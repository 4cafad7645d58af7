"""Work a request leaves to the workers: an operation queues it with its own changes, a worker
runs it a moment later (`flask --app wsgi worker`), outside any request.

A package registers a handler per kind at start-up; the handler gets a session and the id of the
row the work is about, and works like an operation (it flushes, never commits). The handler's
changes and the item's `done` commit together, so work is done once: a worker that dies before the
commit leaves the item to be taken again when its lease ends. On SQLite the unit of work holds
the write lock from its start, as a request that writes does. A failed attempt is tried again
later, after `RETRY_MINUTES`; the last failure leaves the item `failed` for a person to look at.

A handler that calls another process writing to the same database (the signing service) is
registered with `calls_out`: it reads and calls without holding the write lock (the other process
would wait for it), and returns what to write afterwards. That runs in a new transaction (the other
process's commit is newer than the first one's snapshot) holding the write lock, and commits with
the item's outcome as any handler's changes do.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from models import WorkItem, WorkStatus
from models.base import update_where, utcnow
from web.database import claim, write_lock
from web.edge import unit_of_work

log = logging.getLogger(__name__)
Handler = Callable[[Session, int], None]
Writes = Callable[[Session], None]
# A handler registered with calls_out: it reads and calls out, then says what to write (or None).
CallingHandler = Callable[[Session, int], Writes | None]
RETRY_MINUTES = (1, 5, 30, 120)  # after the 1st, 2nd, … failed attempt; the last repeats
MAX_ATTEMPTS = 8
LEASE = dt.timedelta(minutes=10)  # longer than any one item takes (an invoice: the issuer and a PDF)


class LeaseLost(RuntimeError):
    """The item was taken again by another worker while this one worked: its work is undone."""


@dataclass(frozen=True)
class _Registered:
    handler: Handler | CallingHandler
    calls_out: bool


def register(app: Flask, kind: str, handler: Handler | CallingHandler, *, calls_out: bool = False) -> None:
    """`handler` does the work of `kind`; with `calls_out` it calls another process that writes to
    the database, and returns its own writes for after the call (see above)."""
    app.extensions.setdefault("jobs", {})[kind] = _Registered(handler, calls_out)


def enqueue(session: Session, kind: str, subject_id: int) -> WorkItem:
    """Queue work about row `subject_id`; it runs once the caller's unit of work has committed."""
    item = WorkItem(kind=kind, subject_id=subject_id)
    session.add(item)
    session.flush()
    return item


def run_due(session: Session, worker: str, *, limit: int = 10) -> int:
    """Run up to `limit` due items; how many were taken."""
    now = utcnow()
    due = (select(WorkItem.id, WorkItem.kind, WorkItem.subject_id, WorkItem.status, WorkItem.attempts)
           .where(WorkItem.status.in_((WorkStatus.QUEUED, WorkStatus.RUNNING)), WorkItem.due_at <= now)
           .order_by(WorkItem.due_at, WorkItem.id).limit(limit))
    taken = claim(session, due, lambda row: _take(session, row, worker, now))
    for row in taken:
        _run(session, row.id, row.kind, row.subject_id, row.attempts + 1)
    return len(taken)


def _take(session: Session, row: Row, worker: str, now: dt.datetime) -> bool:
    # A `running` item that is due is one whose worker's lease ran out.
    return update_where(session, WorkItem, WorkItem.id == row.id, WorkItem.status == row.status,
                        WorkItem.attempts == row.attempts,
                        status=WorkStatus.RUNNING, attempts=row.attempts + 1, due_at=now + LEASE, worker=worker)


def _run(session: Session, item_id: int, kind: str, subject_id: int, attempt: int) -> None:
    registered = current_app.extensions.get("jobs", {}).get(kind)
    try:
        if registered is None:
            raise LookupError(f"no handler for work of kind {kind!r}")
        writes = _call_out(session, registered.handler, subject_id) if registered.calls_out else None
        with write_lock(), unit_of_work():
            if not registered.calls_out:
                registered.handler(session, subject_id)
            elif writes is not None:
                writes(session)
            _finish(session, item_id, attempt, status=WorkStatus.DONE, finished_at=utcnow(), error=None)
    except LeaseLost:
        log.warning("work item %d (%s) was taken again by another worker; this attempt is undone", item_id, kind)
    except Exception as exc:
        log.exception("work item %d (%s %d), attempt %d, failed", item_id, kind, subject_id, attempt)
        try:
            with unit_of_work():
                _finish(session, item_id, attempt, **_after_failure(attempt, f"{type(exc).__name__}: {exc}"))
        except LeaseLost:
            log.warning("work item %d (%s) was taken again by another worker", item_id, kind)


def _call_out(session: Session, handler: CallingHandler, subject_id: int) -> Writes | None:
    """The handler's reads and call, without the write lock; its transaction is ended after it."""
    try:
        return handler(session, subject_id)
    finally:
        session.rollback()


def _after_failure(attempt: int, error: str) -> dict:
    if attempt >= MAX_ATTEMPTS:
        return {"status": WorkStatus.FAILED, "error": error, "finished_at": utcnow()}
    delay = RETRY_MINUTES[min(attempt, len(RETRY_MINUTES)) - 1]
    return {"status": WorkStatus.QUEUED, "error": error, "due_at": utcnow() + dt.timedelta(minutes=delay)}


def _finish(session: Session, item_id: int, attempt: int, **values) -> None:
    """Record the attempt's outcome, if the item is still this attempt's."""
    if not update_where(session, WorkItem, WorkItem.id == item_id, WorkItem.status == WorkStatus.RUNNING,
                        WorkItem.attempts == attempt, **values):
        raise LeaseLost(item_id)
