"""Messages to applicants: the outboxes and the gateways that deliver them."""
from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from notifications.interfaces import MailGateway, SmsGateway, TransferGateway
from web.services import find_service


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
    """Send what the unit of work queued, now that it is committed."""
    from notifications import outbox

    queued = outbox.take_queued(session)
    if not queued:
        return
    outbox.deliver(session, find_service(SmsGateway), queued.sms)
    outbox.deliver_emails(session, find_service(MailGateway), queued.emails)
    outbox.deliver_transfers(session, find_service(TransferGateway), queued.transfers)
    session.commit()
