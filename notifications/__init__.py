"""Messages to applicants: the outboxes and the gateways that deliver them."""
from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session


def init_app(app: Flask) -> None:
    """Register the gateways with the service registry (sandboxes by default), and hand what a
    unit of work queued to them once it has committed (and drop it when it was rolled back)."""
    from notifications import gateways, mail, outbox, transfers
    from web import edge

    gateways.register(app)
    mail.register(app)
    transfers.register(app)
    edge.on_commit(app, deliver_queued)
    edge.on_discard(app, outbox.take_queued)


def deliver_queued(session: Session) -> None:
    """Send what the unit of work queued, now that it is committed; what this does not send,
    `notifications deliver-pending` does (notifications.delivery)."""
    from notifications import delivery, outbox

    queued = outbox.take_queued(session)
    if queued:
        delivery.deliver(session, delivery.current_gateways(), queued, delivery.current_policy())
