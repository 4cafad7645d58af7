"""Who gives an e-invoice its number: the tax authority's platform in production, the
sandbox issuer (our own gap-free counter per year) by default.

The contract: ``issue`` is called inside the transaction that stores the invoice and
answers the number, the issue time and the verification URL; if it raises IssuerError
nothing is stored and the invoice is tried again later (``billing sweep``). The platform
must treat a repeated ``request_id`` as the same invoice, so a retry after a crash never
makes a second one.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

from flask import Flask
from sqlalchemy.orm import Session

from billing.capital import money
from models import InvoiceKind, next_invoice_sequence
from models.business_time import BUSINESS_TZ
from notifications.http import ServiceUnavailable, SignedJsonService
from web import services
from web.services import Implementation

# A made-up tax office code for the sandbox's numbers: 2-digit year, 6-digit office, 12-digit sequence.
SANDBOX_OFFICE = "110108"


class IssuerError(Exception):
    """The platform could not be reached or refused the invoice."""


@dataclass(frozen=True)
class InvoiceRequest:
    request_id: str  # stable per invoice to be made, e.g. "blue:<order number>"
    kind: InvoiceKind
    buyer_name: str
    buyer_taxpayer_id: str | None  # none for a person
    item_name: str
    tax_rate: str
    amount_cents: int
    tax_cents: int
    total_cents: int
    original_number: str | None = None


@dataclass(frozen=True)
class IssuedNumber:
    number: str
    issued_at: dt.datetime
    verify_url: str
    sequence: int | None = None


class InvoiceIssuer(Protocol):
    name: str

    def issue(self, session: Session, request: InvoiceRequest, now: dt.datetime) -> IssuedNumber:
        """Give the invoice its number (raises IssuerError)."""

    def void(self, number: str, reason: str) -> None:
        """Void an invoice of the current month at the issuer (raises IssuerError)."""


def verify_url(base: str, number: str, issued_at: dt.datetime, total_cents: int) -> str:
    day = issued_at.astimezone(BUSINESS_TZ).strftime("%Y%m%d")
    return f"{base}?{urlencode({'fphm': number, 'kprq': day, 'jshj': money(total_cents)})}"


class SandboxIssuer:
    name = "sandbox"

    def __init__(self, verify_base: str):
        self.verify_base = verify_base

    def issue(self, session: Session, request: InvoiceRequest, now: dt.datetime) -> IssuedNumber:
        year = now.astimezone(BUSINESS_TZ).year
        sequence = next_invoice_sequence(session, year)
        number = f"{year % 100:02d}{SANDBOX_OFFICE}{sequence:012d}"
        return IssuedNumber(number, now, verify_url(self.verify_base, number, now, request.total_cents), sequence)

    def void(self, number: str, reason: str) -> None:
        """The sandbox's books are our invoice table: the caller marks the invoice voided."""


class TaxPlatformIssuer:
    """The slot for the tax authority's e-invoice platform (or a licensed service provider in
    front of it): a signed JSON request, the platform's number and verification URL back."""

    name = "tax_platform"

    def __init__(self, url: str, key: str, timeout: float = 10.0):
        self.service = SignedJsonService(
            url, key, timeout, missing="the tax platform issuer needs INVOICE_PLATFORM_URL and INVOICE_PLATFORM_KEY")

    def issue(self, session: Session, request: InvoiceRequest, now: dt.datetime) -> IssuedNumber:
        payload = {
            "action": "issue", "request_id": request.request_id, "kind": str(request.kind),
            "buyer_name": request.buyer_name,
            "buyer_taxpayer_id": request.buyer_taxpayer_id, "item_name": request.item_name,
            "tax_rate": request.tax_rate, "amount_cents": request.amount_cents, "tax_cents": request.tax_cents,
            "total_cents": request.total_cents, "original_number": request.original_number,
        }
        answer = self._post(payload)
        try:
            issued_at = dt.datetime.fromisoformat(answer["issued_at"])
            if issued_at.tzinfo is None:
                raise ValueError("issued_at without a time zone")
            return IssuedNumber(str(answer["number"]), issued_at, str(answer["verify_url"]))
        except (KeyError, ValueError) as exc:
            raise IssuerError(f"tax platform answered an unreadable invoice: {exc}") from exc


    def void(self, number: str, reason: str) -> None:
        self._post({"action": "void", "number": number, "reason": reason})

    def _post(self, payload: dict) -> dict:
        try:
            answer = self.service.post(payload)
        except ServiceUnavailable as exc:
            raise IssuerError(f"tax platform {exc}") from exc
        if answer.get("error"):
            raise IssuerError(f"tax platform refused: {answer['error']}")
        return answer


def register(app: Flask) -> None:
    """INVOICE_ISSUER chooses: `sandbox` (the default) numbers no legal invoice, so production
    refuses it; `tax_platform` needs the platform's URL and key."""
    services.register(app, InvoiceIssuer, "INVOICE_ISSUER", {
        "tax_platform": Implementation(
            lambda config: TaxPlatformIssuer(config["INVOICE_PLATFORM_URL"], config["INVOICE_PLATFORM_KEY"]),
            needs=("INVOICE_PLATFORM_URL", "INVOICE_PLATFORM_KEY")),
        "sandbox": Implementation(lambda config: SandboxIssuer(config["INVOICE_VERIFY_URL"]), sandbox=True),
    })
