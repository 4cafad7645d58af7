"""0.01-yuan bank transfers: a sandbox that behaves like a bank, and the real HTTP adapter.

The memo of such a transfer carries the certificate password to the organisation. Each transfer
has a request number of ours: the bank makes one transfer per request number and tells by it
whether one was made, so a transfer it did not answer for is asked about, never made twice.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import Flask

from notifications.http import ServiceUnavailable, SignedJsonService
from notifications.interfaces import TransferError, TransferGateway, TransferOutcomeUnknown
from web import services
from web.services import Implementation


@dataclass(frozen=True)
class SentTransfer:
    request_no: str
    account_name: str
    account_number: str
    bank_name: str
    amount_cents: int
    memo: str
    ref: str


class SandboxTransferGateway:
    """Moves no money, like a bank would accept the order.

    An account number ending in 0000 is refused, as a bank refuses a frozen or wrong account;
    for one ending in 7777 the transfer is made but the answer lost, as in a timeout. What was
    made is kept in `ledger` by request number, so tests and demos can read the memo, and a
    request number asked again gets its first transfer back.
    """

    def __init__(self) -> None:
        self.ledger: dict[str, SentTransfer] = {}

    def send(self, request_no: str, account_name: str, account_number: str, bank_name: str, amount_cents: int,
             memo: str) -> str:
        if request_no in self.ledger:
            return self.ledger[request_no].ref
        if amount_cents <= 0:
            raise TransferError("sandbox: the amount must be positive")
        if account_number.endswith("0000"):
            raise TransferError("sandbox: account frozen or wrong")
        made = SentTransfer(request_no, account_name, account_number, bank_name, amount_cents, memo,
                            "sbx-" + secrets.token_hex(8))
        self.ledger[request_no] = made
        if account_number.endswith("7777"):
            raise TransferOutcomeUnknown("sandbox: no answer (timeout)")
        return made.ref

    def status(self, request_no: str) -> str | None:
        made = self.ledger.get(request_no)
        return made.ref if made else None


class HttpTransferGateway:
    """Posts JSON to the bank's endpoint, signed with HMAC-SHA256 of the body; asks for a
    transfer's status at <endpoint>/status.

    Only an answer `{"ok": false}` means the bank refused, so no transfer was made. Anything else
    that is not a yes (a timeout, a broken connection, an HTTP error) may come after the bank made
    it: the outcome is unknown.
    """

    def __init__(self, url: str, key: str, timeout: float = 10.0):
        missing = "the HTTP transfer gateway needs BANK_TRANSFER_HTTP_URL and BANK_TRANSFER_HTTP_KEY"
        self.service = SignedJsonService(url, key, timeout, missing=missing)
        self.status_service = SignedJsonService(url.rstrip("/") + "/status", key, timeout, missing=missing)

    def send(self, request_no: str, account_name: str, account_number: str, bank_name: str, amount_cents: int,
             memo: str) -> str:
        payload = {"request_no": request_no, "account_name": account_name, "account_number": account_number,
                   "bank_name": bank_name, "amount_cents": amount_cents, "memo": memo}
        try:
            answer = self.service.post(payload)
        except ServiceUnavailable as exc:
            raise TransferOutcomeUnknown(f"bank {exc}") from exc
        if not answer.get("ok"):
            raise TransferError(answer.get("error", "the bank refused the transfer"))
        return str(answer["id"])

    def status(self, request_no: str) -> str | None:
        try:
            answer = self.status_service.post({"request_no": request_no})
        except ServiceUnavailable as exc:
            raise TransferOutcomeUnknown(f"bank {exc}") from exc
        if not answer.get("ok"):
            raise TransferOutcomeUnknown(answer.get("error", "the bank did not tell the transfer's status"))
        return str(answer["id"]) if answer.get("made") else None


def register(app: Flask) -> None:
    """BANK_TRANSFER_GATEWAY chooses: `sandbox` (the default) moves no money and so sends no
    certificate password, so production refuses it; `http` needs the bank's URL and key."""
    services.register(app, TransferGateway, "BANK_TRANSFER_GATEWAY", {
        "http": Implementation(
            lambda config: HttpTransferGateway(config["BANK_TRANSFER_HTTP_URL"], config["BANK_TRANSFER_HTTP_KEY"]),
            needs=("BANK_TRANSFER_HTTP_URL", "BANK_TRANSFER_HTTP_KEY")),
        "sandbox": Implementation(lambda config: SandboxTransferGateway(), sandbox=True),
    })
