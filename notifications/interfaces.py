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


class TransferOutcomeUnknown(TransferError):
    """The bank did not answer (a timeout, a broken connection, an error page): the transfer may
    have been made. Only the bank's answer to a status query by its request number tells."""


@dataclass(frozen=True)
class SmsContent:
    """One SMS as notifications.messages renders it: what a Chinese carrier takes (the approved
    template's code and its parameters), and the text the applicant reads."""

    kind: str  # templates/sms/<kind>.txt
    template_code: str
    params: dict[str, str]
    text: str


class SmsGateway(Protocol):
    def send(self, phone: str, message: SmsContent) -> str:
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
    def send(self, request_no: str, account_name: str, account_number: str, bank_name: str, amount_cents: int,
             memo: str) -> str:
        """Make the transfer of this request number, once whatever how often it is asked; return the
        bank's reference. TransferOutcomeUnknown when the bank did not answer."""

    def status(self, request_no: str) -> str | None:
        """The bank's reference of the transfer made for this request number, None when none was
        made. TransferError (TransferOutcomeUnknown) when the bank cannot be asked."""
