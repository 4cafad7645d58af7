"""Messages to applicants: the outboxes and the gateways that deliver them."""
from __future__ import annotations

from flask import Flask, current_app
from sqlalchemy.orm import Session


def init_app(app: Flask) -> None:
    """Put the configured gateways (sandboxes by default) on the app, and hand what a unit of
    work queued to them once it has committed (and drop it when it was rolled back)."""
    from notifications import gateways, mail, outbox, transfers
    from web import edge

    app.extensions["sms_gateway"] = gateways.build(app.config)
    app.extensions["mailer"] = mail.build_mailer(app.config)
    app.extensions["transfer_gateway"] = transfers.build_transfer_gateway(app.config)
    edge.on_commit(app, deliver_queued)
    edge.on_discard(app, outbox.take_queued)


def deliver_queued(session: Session) -> None:
    """Send what the unit of work queued, now that it is committed."""
    from notifications import outbox

    queued = outbox.take_queued(session)
    if not queued:
        return
    gateways = current_app.extensions
    outbox.deliver(session, gateways["sms_gateway"], queued.sms)
    outbox.deliver_emails(session, gateways["mailer"], queued.emails)
    outbox.deliver_transfers(session, gateways["transfer_gateway"], queued.transfers)
    session.commit()
