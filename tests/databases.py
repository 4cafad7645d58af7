"""A database of a test's own: a new SQLite file, or a new database on the PostgreSQL server
under test. For tests that need real commits from several connections."""
from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from web.extensions import db

T = TypeVar("T")
# The PostgreSQL server under test (`make test`'s second pass), read here alone: a test reaches a
# database through the `database_url` fixture, so the PostgreSQL pass can leave out the tests that
# never do (tests/conftest.py, pytest_collection_modifyitems).
POSTGRESQL_URL = os.environ.get("TEST_DATABASE_URL")


@contextmanager
def own_database(folder: Path, base: str) -> Iterator[str]:
    """`base`: the run's database (the `database_url` fixture), whose server the new one is made on."""
    if make_url(base).get_backend_name() != "postgresql":
        yield f"sqlite:///{folder / f'own-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def own_app(tmp_path: Path, tmp_path_factory, base: str) -> Iterator[Flask]:
    """An app on a database of its own, with a sandbox payment ledger of its own; closed after."""
    from tests.conftest import migrated_app

    with own_database(tmp_path, base) as url:
        app = migrated_app(tmp_path_factory, url)
        app.config["SANDBOX_PAY_LEDGER"] = str(tmp_path / "own-ledger" / "ledger.sqlite3")
        try:
            yield app
        finally:
            with app.app_context():
                db.engine.dispose()


def at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Run the calls in threads released at the same moment; their answers, in order."""
    barrier = threading.Barrier(len(calls))
    answers: list = [None] * len(calls)

    def run(index: int, call: Callable[[], T]) -> None:
        barrier.wait()
        answers[index] = call()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers
