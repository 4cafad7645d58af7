"""SQLite as both the web app and the signing service use it (each with an engine of its own).

Python's sqlite3 module starts transactions late and mishandles SAVEPOINT, so SQLAlchemy emits BEGIN
itself; foreign keys on; WAL with a busy timeout so a reader never blocks the one writer; and a
transaction that will write takes the write lock at BEGIN (BEGIN IMMEDIATE), so two writers queue
up on the busy timeout instead of the later one failing on a stale snapshot.
"""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, event


def tune(engine: Engine, writing: Callable[[], bool]) -> None:
    """Set `engine` up; `writing()` says, when a transaction begins, whether it will write."""
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing() else "BEGIN")
