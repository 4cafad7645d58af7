"""The outboxes: SMS, e-mails and 0.01-yuan transfers are written with the transaction
and handed to their gateways after the commit."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import BankTransfer, EmailAttachment, EmailMessage, Order, SmsMessage
from models.base import utcnow
from notifications.interfaces import MailDeliveryError, SmsDeliveryError, SmsGateway, TransferError
from notifications.mail import Attachment, MailGateway
from notifications.transfers import TransferGateway

SMS_QUEUE_KEY = "queued_sms"
EMAIL_QUEUE_KEY = "queued_email"
TRANSFER_QUEUE_KEY = "queued_transfer"

Row = TypeVar("Row", SmsMessage, EmailMessage, BankTransfer)


@dataclass(frozen=True)
class Queued:
    """The ids of what one unit of work queued, by kind."""

    sms: list[int] = field(default_factory=list)
    emails: list[int] = field(default_factory=list)
    transfers: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.sms or self.emails or self.transfers)


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
    return _queue(session, SMS_QUEUE_KEY, message)


def queue_email(
    session: Session, to: str, subject: str, body: str, template: str, order: Order | None = None,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    message = EmailMessage(
        to_address=to, subject=subject, body=body, template=template, order_id=order.id if order else None,
        attachments=[EmailAttachment(filename=a.filename, content_type=a.content_type, content=a.content)
                     for a in attachments],
    )
    return _queue(session, EMAIL_QUEUE_KEY, message)


def queue_transfer(session: Session, order: Order, memo: str) -> BankTransfer:
    """Queue the 0.01-yuan transfer to the order's account; the memo is stored sealed."""
    transfer = BankTransfer(
        order_id=order.id,
        account_name=order.account_name,
        account_number=order.account_number,
        bank_name=order.bank_name,
        memo=memo,
    )
    return _queue(session, TRANSFER_QUEUE_KEY, transfer)


def _queue(session: Session, key: str, row: Row) -> Row:
    session.add(row)
    session.flush()
    session.info.setdefault(key, []).append(row.id)
    return row


def take_queued(session: Session) -> Queued:
    """Forget and return what the session queued (to deliver it, or to drop it)."""
    return Queued(
        sms=session.info.pop(SMS_QUEUE_KEY, []),
        emails=session.info.pop(EMAIL_QUEUE_KEY, []),
        transfers=session.info.pop(TRANSFER_QUEUE_KEY, []),
    )


def deliver(session: Session, gateway: SmsGateway, message_ids: list[int]) -> None:
    """Send the given SMS; each ends "sent" or "failed" (the row stays for a retry)."""
    _deliver(session, SmsMessage, message_ids, SmsDeliveryError, lambda m: gateway.send(m.phone, m.text))


def deliver_emails(session: Session, mailer: MailGateway, email_ids: list[int]) -> None:
    """Send the given e-mails; each ends "sent" or "failed" (the row stays for a retry)."""
    _deliver(session, EmailMessage, email_ids, MailDeliveryError,
             lambda m: mailer.send(m.to_address, m.subject, m.body,
                                   [Attachment(a.filename, a.content_type, a.content) for a in m.attachments]))


def deliver_transfers(session: Session, gateway: TransferGateway, transfer_ids: list[int]) -> None:
    """Make the given transfers; each ends "sent" or "failed" (the row stays for a retry)."""
    _deliver(session, BankTransfer, transfer_ids, TransferError,
             lambda t: gateway.send(t.account_name, t.account_number, t.bank_name, t.amount_cents, t.memo))


def _deliver(session: Session, model: type[Row], ids: list[int], error: type[Exception],
             send: Callable[[Row], str]) -> None:
    if not ids:
        return
    # A retry may pass failed rows again; a row already sent is never sent twice.
    for row in session.scalars(select(model).where(model.id.in_(ids), model.status != "sent").order_by(model.id)):
        try:
            row.provider_ref = send(row)
        except error as exc:
            row.status, row.error = "failed", str(exc)
        else:
            row.status, row.sent_at, row.error = "sent", utcnow(), None


def latest_for(session: Session, phone: str) -> SmsMessage | None:
    return session.scalars(
        select(SmsMessage).where(SmsMessage.phone == phone).order_by(SmsMessage.id.desc())
    ).first()


def latest_email_for(session: Session, address: str) -> EmailMessage | None:
    return session.scalars(
        select(EmailMessage).where(EmailMessage.to_address == address).order_by(EmailMessage.id.desc())
    ).first()
