"""What the outgoing-message services promise, and the errors they raise."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class SmsDeliveryError(Exception):
    """The gateway refused or failed to take the message; it stays in the outbox."""


class MailDeliveryError(Exception):
    """The mail server refused or failed to take the message; it stays in the outbox."""


class TransferError(Exception):
    """The bank refused or failed to make the transfer; it stays in the outbox."""


class SmsGateway(Protocol):
    def send(self, phone: str, text: str) -> str:
        """Hand one message to the carrier; return the gateway's message id."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "application/pdf"
    content: bytes


class MailGateway(Protocol):
    def send(self, to: str, subject: str, body: str, attachments: Sequence[Attachment] = ()) -> str:
        """Hand one message to the mail server; return its message id."""


class TransferGateway(Protocol):
    def send(self, account_name: str, account_number: str, bank_name: str, amount_cents: int,
             memo: str) -> str:
        """Make one transfer; return the bank's reference for it."""
