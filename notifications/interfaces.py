"""What the outgoing-message services promise, and the errors they raise."""
from __future__ import annotations

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
