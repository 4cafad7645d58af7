"""The outboxes: SMS, e-mails and 0.01-yuan transfers are written with the transaction that
causes them, and the workers hand them to their gateways once it has committed
(notifications.delivery): nothing is sent for work that was rolled back."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from models import BankTransfer, Delivery, EmailAttachment, EmailMessage, Order, SmsMessage
from models.sealed import mask
from notifications.interfaces import Attachment, SmsContent
from notifications.messages import EmailContent

Row = TypeVar("Row", SmsMessage, EmailMessage, BankTransfer)


def queue_sms(session: Session, phone: str, message: SmsContent, *, order: Order | None = None,
              secret: bool = False, expires_at: dt.datetime | None = None) -> SmsMessage:
    """Add a message (notifications.messages.render_sms) to the outbox; a message carrying a
    secret is stored sealed. One that is worthless after a moment (a code's) names it."""
    row = SmsMessage(
        phone=phone,
        template=message.kind,
        template_code=message.template_code,
        body=None if secret else message.text,
        sealed_body=message.text if secret else None,
        sealed_params=json.dumps(message.params, ensure_ascii=False),
        carries_secret=secret,
        order_id=order.id if order else None,
        expires_at=expires_at,
    )
    return _queue(session, row)


def queue_email(session: Session, to: str, message: EmailContent, *, order: Order | None = None,
                attachments: Sequence[Attachment] = ()) -> EmailMessage:
    """Add an e-mail (notifications.messages.render_email) to the outbox, its attachments kept
    with it for a retry."""
    row = EmailMessage(
        to_address=to, subject=message.subject, body=message.body, template=message.kind,
        order_id=order.id if order else None,
        attachments=[EmailAttachment(filename=a.filename, content_type=a.content_type, content=a.content)
                     for a in attachments],
    )
    return _queue(session, row)


def queue_transfer(session: Session, order: Order, memo: str) -> BankTransfer:
    """Queue the 0.01-yuan transfer to the order's account; the memo is stored sealed."""
    transfer = BankTransfer(
        order_id=order.id,
        account_name=order.account_name,
        account_number=order.account_number,
        bank_name=order.bank_name,
        memo=memo,
    )
    return _queue(session, transfer)


def queue_again(session: Session, row: Row) -> Row:
    """A new send of a message, to the same place with the same words (sealed as they were), for
    the outbox to deliver as it does any other, naming the row it copies; a transfer gets a request
    number of its own."""
    if isinstance(row, SmsMessage):
        copy = SmsMessage(phone=row.phone, template=row.template, template_code=row.template_code, body=row.body,
                          sealed_body=row.sealed_body, sealed_params=row.sealed_params,
                          carries_secret=row.carries_secret, order_id=row.order_id, resent_from_id=row.id)
    elif isinstance(row, EmailMessage):
        copy = EmailMessage(to_address=row.to_address, subject=row.subject, body=row.body, template=row.template,
                            order_id=row.order_id, resent_from_id=row.id,
                            attachments=[EmailAttachment(filename=a.filename, content_type=a.content_type,
                                                         content=a.content) for a in row.attachments])
    else:
        copy = BankTransfer(order_id=row.order_id, account_name=row.account_name, account_number=row.account_number,
                            bank_name=row.bank_name, amount_cents=row.amount_cents, memo=row.memo,
                            resent_from_id=row.id)
    return _queue(session, copy)


def _queue(session: Session, row: Row) -> Row:
    session.add(row)
    session.flush()
    return row


def latest_for(session: Session, phone: str) -> SmsMessage | None:
    return session.scalars(
        select(SmsMessage).where(SmsMessage.phone == phone).order_by(SmsMessage.id.desc())
    ).first()


def latest_email_for(session: Session, address: str) -> EmailMessage | None:
    return session.scalars(
        select(EmailMessage).where(EmailMessage.to_address == address).order_by(EmailMessage.id.desc())
    ).first()


@dataclass(frozen=True)
class Sent:
    """One message about an order as staff see it: never its text (codes, passwords)."""

    channel: str  # "sms", "email" or "transfer"
    kind: str  # the template's kind; "certificate_password" for a transfer
    to: str  # a phone, an address, or the masked account number
    status: str  # a Delivery value
    attempts: int
    error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    needs_a_person: bool
    request_no: str | None = None  # a transfer's: what to ask the bank about
    copy_of: dt.datetime | None = None  # sent again by hand: when the message it copies was queued


def messages_about(session: Session, order: Order) -> list[Sent]:
    """Every SMS, e-mail and transfer sent (or to be sent) about the order, oldest first; a copy sent
    again by hand says when the message it copies (the order's too) was queued."""
    found: list[tuple[str, str, str, SmsMessage | EmailMessage | BankTransfer, dict]] = []
    # The texts are not read, so the sealed ones are not even opened.
    for sms in session.scalars(select(SmsMessage).where(SmsMessage.order_id == order.id).options(
            defer(SmsMessage.body), defer(SmsMessage.sealed_body), defer(SmsMessage.sealed_params))):
        found.append(("sms", sms.template, sms.phone, sms, {}))
    for email in session.scalars(select(EmailMessage).where(EmailMessage.order_id == order.id)
                                 .options(defer(EmailMessage.body))):
        found.append(("email", email.template, email.to_address, email, {}))
    for transfer in session.scalars(select(BankTransfer).where(BankTransfer.order_id == order.id)
                                    .options(defer(BankTransfer.memo))):
        found.append(("transfer", "certificate_password", mask(transfer.account_number, 4, 4), transfer,
                      {"request_no": transfer.request_no}))
    queued = {(channel, row.id): row.created_at for channel, _kind, _to, row, _extra in found}
    rows = [Sent(channel, kind, to, Delivery(row.status).value, row.attempts, row.error, row.created_at, row.sent_at,
                 row.next_attempt_at, row.needs_a_person, copy_of=queued.get((channel, row.resent_from_id)), **extra)
            for channel, kind, to, row, extra in found]
    return sorted(rows, key=lambda sent: sent.created_at)
