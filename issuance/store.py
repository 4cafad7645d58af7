"""The signing service's own database connection: an engine of its own (on PostgreSQL under a
role of its own, SIGNER_DATABASE_URL; see issuance.database_role), never the web app's
Flask-SQLAlchemy, and its audit entries chained and anchored with the same seal key and anchor
file as the web app's (models.audit_chain), so both processes write one chain.

SQLite is set up as for the web app (models.sqlite_engine): a unit of work that writes takes the
write lock at BEGIN.
"""
from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from models import audit_chain, sqlite_engine

_writing: ContextVar[bool] = ContextVar("signing_service_writing", default=False)


def database_url(settings: Mapping[str, Any]) -> str:
    return settings["SIGNER_DATABASE_URL"] or settings["SQLALCHEMY_DATABASE_URI"]


def make_sessions(settings: Mapping[str, Any]) -> sessionmaker[Session]:
    engine = create_engine(database_url(settings), **settings.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
    if engine.dialect.name == "sqlite":
        sqlite_engine.tune(engine, _writing.get)
    audit_chain.configure(engine, base64.b64decode(settings["AUDIT_SEAL_KEY"]), settings["AUDIT_ANCHOR_PATH"])
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(sessions: sessionmaker[Session], *, writes: bool) -> Iterator[Session]:
    """One transaction: committed at the end, rolled back on any exception (which goes on)."""
    token = _writing.set(writes)
    try:
        with sessions() as session, session.begin():
            yield session
    finally:
        _writing.reset(token)
