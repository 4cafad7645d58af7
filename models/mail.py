"""The e-mail outbox and the outbox of 0.01-yuan transfers that carry a password memo."""
from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, created, intpk, str40, str120, str255
from models.delivery import Outgoing
from models.sealed import SealedBytes, SealedText


class EmailMessage(Outgoing, Base):
    __tablename__ = "email_message"

    id: Mapped[intpk]
    to_address: Mapped[str255] = mapped_column(index=True)
    subject: Mapped[str255]
    template: Mapped[str40]
    body: Mapped[str] = mapped_column(Text)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id"), index=True)
    provider_ref: Mapped[str120 | None]
    created_at: Mapped[created]

    attachments: Mapped[list[EmailAttachment]] = relationship(order_by="EmailAttachment.id")


class EmailAttachment(Base):
    """A file sent with an e-mail (the e-invoice PDF), kept with the message for a retry."""

    __tablename__ = "email_attachment"

    id: Mapped[intpk]
    email_id: Mapped[int] = mapped_column(ForeignKey("email_message.id"), index=True)
    filename: Mapped[str120]
    content_type: Mapped[str40]
    content: Mapped[bytes] = mapped_column(SealedBytes("email_attachment.content"))  # an invoice, for one


class BankTransfer(Outgoing, Base):
    """A 0.01-yuan transfer to the organisation's account; its memo carries the password.

    The request number is the bank's key for this one transfer, made when it is queued and sent
    with every attempt: the bank makes one transfer per request number, and answers a status
    query by it, so a transfer the bank did not answer for (a timeout) is never paid twice.
    """

    __tablename__ = "bank_transfer"

    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    account_name: Mapped[str255]
    account_number: Mapped[str] = mapped_column(SealedText("bank_transfer.account_number"))
    bank_name: Mapped[str120]
    amount_cents: Mapped[int] = mapped_column(default=1)
    memo: Mapped[str] = mapped_column(SealedText("bank_transfer.memo"))
    request_no: Mapped[str40] = mapped_column(unique=True, default=lambda: uuid.uuid4().hex)
    provider_ref: Mapped[str40 | None]
    created_at: Mapped[created]
