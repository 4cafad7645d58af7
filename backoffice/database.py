"""Engine settings per database.

SQLite (the embedded default) needs help: Python's sqlite3 module starts transactions
late and mishandles SAVEPOINT, so we let SQLAlchemy emit BEGIN itself, turn on foreign
keys, and use WAL with a busy timeout so a reader never blocks the one writer.
"""
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from backoffice.extensions import db


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)


def _tune_sqlite(engine: Engine) -> None:
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
        connection.exec_driver_sql("BEGIN")
