"""0.01-yuan bank transfers: a sandbox that behaves like a bank, and the real HTTP adapter.

The memo of such a transfer carries the certificate password to the organisation.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import Flask

from notifications.http import ServiceUnavailable, SignedJsonService
from notifications.interfaces import TransferError, TransferGateway
from web import services
from web.services import Implementation


@dataclass(frozen=True)
class SentTransfer:
    account_name: str
    account_number: str
    bank_name: str
    amount_cents: int
    memo: str
    ref: str


class SandboxTransferGateway:
    """Moves no money, like a bank would accept the order.

    An account number ending in 0000 is refused, as a bank refuses a frozen or wrong
    account. What was accepted is kept in `ledger`, so tests and demos can read the memo.
    """

    def __init__(self) -> None:
        self.ledger: list[SentTransfer] = []

    def send(self, account_name: str, account_number: str, bank_name: str, amount_cents: int,
             memo: str) -> str:
        if amount_cents <= 0:
            raise TransferError("sandbox: the amount must be positive")
        if account_number.endswith("0000"):
            raise TransferError("sandbox: account frozen or wrong")
        ref = "sbx-" + secrets.token_hex(8)
        self.ledger.append(SentTransfer(account_name, account_number, bank_name, amount_cents, memo, ref))
        return ref


class HttpTransferGateway:
    """Posts JSON to the bank's endpoint, signed with HMAC-SHA256 of the body."""

    def __init__(self, url: str, key: str, timeout: float = 10.0):
        self.service = SignedJsonService(
            url, key, timeout,
            missing="the HTTP transfer gateway needs BANK_TRANSFER_HTTP_URL and BANK_TRANSFER_HTTP_KEY")

    def send(self, account_name: str, account_number: str, bank_name: str, amount_cents: int,
             memo: str) -> str:
        payload = {"account_name": account_name, "account_number": account_number, "bank_name": bank_name,
                   "amount_cents": amount_cents, "memo": memo}
        try:
            answer = self.service.post(payload)
        except ServiceUnavailable as exc:
            raise TransferError(f"bank {exc}") from exc
        if not answer.get("ok"):
            raise TransferError(answer.get("error", "the bank refused the transfer"))
        return str(answer["id"])


def register(app: Flask) -> None:
    """BANK_TRANSFER_GATEWAY chooses: `sandbox` (the default) moves no money and so sends no
    certificate password, so production refuses it; `http` needs the bank's URL and key."""
    services.register(app, TransferGateway, "BANK_TRANSFER_GATEWAY", {
        "http": Implementation(
            lambda config: HttpTransferGateway(config["BANK_TRANSFER_HTTP_URL"], config["BANK_TRANSFER_HTTP_KEY"]),
            needs=("BANK_TRANSFER_HTTP_URL", "BANK_TRANSFER_HTTP_KEY")),
        "sandbox": Implementation(lambda config: SandboxTransferGateway(), sandbox=True),
    })
