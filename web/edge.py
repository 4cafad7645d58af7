"""The one place that commits: once per request, then hands what was queued (SMS, e-mails,
0.01-yuan transfers) to the gateways.

Operations change state and flush but never commit; a request that fails rolls back,
and nothing is sent for it.
"""
from __future__ import annotations

from flask import Flask, current_app

from notifications import outbox
from web.extensions import db


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
    """Send what the request queued, now that it is committed."""
    queued = outbox.take_queued(db.session)
    if not queued:
        return
    gateways = current_app.extensions
    outbox.deliver(db.session, gateways["sms_gateway"], queued.sms)
    outbox.deliver_emails(db.session, gateways["mailer"], queued.emails)
    outbox.deliver_transfers(db.session, gateways["transfer_gateway"], queued.transfers)
    db.session.commit()


def _rollback_on_error(exc):
    if exc is not None:
        _discard()


def _discard() -> None:
    """Undo the request's changes; nothing it queued is ever sent."""
    db.session.rollback()
    outbox.take_queued(db.session)
