"""The SMS outbox: messages are written with the transaction, delivered after commit."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import SmsMessage
from models.base import utcnow
from notifications.interfaces import SmsDeliveryError, SmsGateway

QUEUE_KEY = "queued_sms"


def queue_sms(
    session: Session, phone: str, template: str, text: str, *, secret: bool = False
) -> SmsMessage:
    """Add a message to the outbox; a message carrying a secret is stored sealed."""
    message = SmsMessage(
        phone=phone,
        template=template,
        body=None if secret else text,
        sealed_body=text if secret else None,
        carries_secret=secret,
    )
    session.add(message)
    session.flush()
    session.info.setdefault(QUEUE_KEY, []).append(message.id)
    return message


def take_queued(session: Session) -> list[int]:
    return session.info.pop(QUEUE_KEY, [])


def deliver(session: Session, gateway: SmsGateway, message_ids: list[int]) -> None:
    for message in session.scalars(select(SmsMessage).where(SmsMessage.id.in_(message_ids))):
        try:
            message.provider_ref = gateway.send(message.phone, message.text)
        except SmsDeliveryError as exc:
            message.status, message.error = "failed", str(exc)
        else:
            message.status, message.sent_at = "sent", utcnow()


def latest_for(session: Session, phone: str) -> SmsMessage | None:
    return session.scalars(
        select(SmsMessage).where(SmsMessage.phone == phone).order_by(SmsMessage.id.desc())
    ).first()
