"""The unit of work: the one place that commits, once per request and once per CLI command (or
per item of a batch command or of a worker), then runs the after-commit hooks; on an error it
rolls back instead.

Operations change state and flush but never commit. What they queue to send (SMS, e-mails,
0.01-yuan transfers) is written to an outbox with their changes, and the workers deliver it once
committed: nothing is sent for work that did not commit.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import Flask, current_app
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from web.error_pages import database_unreachable
from web.extensions import db

Hook = Callable[[Session], None]


@dataclass
class _Hooks:
    after_commit: list[Hook] = field(default_factory=list)


def init_app(app: Flask) -> None:
    app.extensions["unit_of_work"] = _Hooks()
    app.after_request(_end_request)
    app.teardown_request(_discard_on_error)


def on_commit(app: Flask, hook: Hook) -> None:
    """Run `hook(session)` after every commit of a unit of work, in a transaction of its own."""
    app.extensions["unit_of_work"].after_commit.append(hook)


def commit() -> None:
    """Commit the session's work, then run the after-commit hooks."""
    db.session.commit()
    for hook in current_app.extensions["unit_of_work"].after_commit:
        hook(db.session)


def discard() -> None:
    """Undo the session's work (nothing it queued is ever sent)."""
    db.session.rollback()


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One unit of work outside a request (a CLI command, an item of a batch): committed at the
    end, rolled back and discarded on any exception, which goes on."""
    try:
        yield db.session
    except BaseException:
        discard()
        raise
    commit()


def _end_request(response):
    if response.status_code >= 500:
        discard()
        return response
    try:
        commit()
    except OperationalError as exc:  # the database went away: the client is told to try again
        discard()
        return database_unreachable(exc)
    return response


def _discard_on_error(exc):
    if exc is not None:
        discard()
