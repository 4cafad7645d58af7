"""The one place that commits: once per request, then hands queued messages to gateways.

Operations change state and flush but never commit; a request that fails rolls back,
and nothing is sent for it.
"""
from __future__ import annotations

from flask import Flask, current_app

from backoffice.extensions import db
from notifications import outbox


def init_app(app: Flask) -> None:
    app.after_request(_commit)
    app.teardown_request(_rollback_on_error)


def _commit(response):
    if response.status_code >= 500:
        _discard()
        return response
    db.session.commit()
    deliver_queued()
    return response


def deliver_queued() -> None:
    """Send the messages the request queued, now that they are committed."""
    queued = outbox.take_queued(db.session)
    if queued:
        outbox.deliver(db.session, current_app.extensions["sms_gateway"], queued)
        db.session.commit()


def _rollback_on_error(exc):
    if exc is not None:
        _discard()


def _discard() -> None:
    """Undo the request's changes; the messages it queued are never sent."""
    db.session.rollback()
    outbox.take_queued(db.session)
