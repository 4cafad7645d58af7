"""Engine settings per database.

SQLite (the embedded default) needs help: Python's sqlite3 module starts transactions
late and mishandles SAVEPOINT, so we let SQLAlchemy emit BEGIN itself, turn on foreign
keys, and use WAL with a busy timeout so a reader never blocks the one writer.
A request that may write takes the write lock at BEGIN (BEGIN IMMEDIATE): two writers then
queue up on the busy timeout instead of the second failing on a stale snapshot ("database is
locked": two reviewers claiming the same order at once, eight opening audited documents).
Every method but GET/HEAD/OPTIONS may write; a GET view that writes says so with `@writes`, and a
POST whose writes another process does (the signing service) with `@writes_elsewhere`.
"""
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, current_app, request
from sqlalchemy import Row, Select, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from models import sqlite_engine
from web.extensions import db

_writing_request: ContextVar[bool] = ContextVar("writing_request", default=False)
READING_METHODS = ("GET", "HEAD", "OPTIONS")


def writes(view: Callable) -> Callable:
    """Marks a view that writes on GET (an audited view, a download that is recorded, a poll
    that asks the payment provider). Decorators that wrap it keep the mark (functools.wraps)."""
    view.writes = True
    return view


def writes_elsewhere(view: Callable) -> Callable:
    """Marks a POST whose writing is done by another process it calls (the signing service): its
    own transaction only reads, and must not hold SQLite's write lock while the other process
    waits for it."""
    view.writes = False
    return view


@contextmanager
def write_lock() -> Iterator[None]:
    """Transactions begun inside take SQLite's write lock at BEGIN, in a request that does not hold
    it (a long poll, which must not keep every other writer waiting while it waits)."""
    token = _writing_request.set(True)
    try:
        yield
    finally:
        _writing_request.reset(token)


def claim(session: Session, due: Select, take: Callable[[Row], bool]) -> list[Row]:
    """Work for this worker, in a short transaction of its own: of the rows `due` selects, those
    `take(row)` made this worker's (a conditional UPDATE that also sets a lease).

    On PostgreSQL the select locks what it returns and skips rows another worker is locking
    (`FOR UPDATE SKIP LOCKED`): workers neither wait for each other nor take the same row. SQLite
    has one writer at a time: the transaction takes the write lock at BEGIN (BEGIN IMMEDIATE), so
    the rows it reads are still as read when it updates them. Any work pending in `session` is
    committed first. An idle worker's look finds nothing without taking any lock."""
    session.commit()
    anything_due = session.execute(due).first() is not None
    session.commit()  # the look's snapshot must not be the claim's
    if not anything_due:
        return []
    with write_lock():
        rows = session.execute(due.with_for_update(skip_locked=True)).all()
        taken = [row for row in rows if take(row)]
        session.commit()
    return taken


def is_writing_request() -> bool:
    view = current_app.view_functions.get(request.endpoint)
    return getattr(view, "writes", request.method not in READING_METHODS)


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        _tune_postgresql(engine)
    if engine.dialect.name == "sqlite":
        sqlite_engine.tune(engine, _writing_request.get)

        @app.before_request
        def _mark_writing_request():
            _writing_request.set(is_writing_request())

        @app.teardown_request
        def _unmark(_exc):
            _writing_request.set(False)


def _tune_postgresql(engine: Engine) -> None:
    # psycopg prepares a statement after five runs, and PostgreSQL may then switch to a
    # generic plan that ignores the values: for a queue page past a keyset cursor that
    # plan scans the queue from its start (8 ms instead of 0.2 ms at page 2,000). Plans
    # made for the actual values cost a fraction of a millisecond to make.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_custom_plan")
        dbapi_connection.commit()
