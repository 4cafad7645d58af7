"""What an SMS gateway promises."""
from __future__ import annotations

from typing import Protocol


class SmsDeliveryError(Exception):
    """The gateway refused or failed to take the message; it stays in the outbox."""


class SmsGateway(Protocol):
    def send(self, phone: str, text: str) -> str:
        """Hand one message to the carrier; return the gateway's message id."""
