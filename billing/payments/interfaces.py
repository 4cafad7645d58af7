"""What a payment provider promises, in our own terms, and the errors it raises.

Amounts are whole cents (int) on our side; times are timezone-aware datetimes.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class ProviderError(Exception):
    """The provider could not be reached (``code`` is None) or refused the request
    with a business error (``code``/``sub_code`` as the provider gives them)."""

    def __init__(self, message: str, *, code: str | None = None, sub_code: str | None = None):
        super().__init__(message)
        self.code = code
        self.sub_code = sub_code


class BadNotification(Exception):
    """A payment notification is missing fields or carries values we cannot read."""


class BadSignature(BadNotification):
    """A payment notification's signature does not verify: it is not from the provider,
    or it was changed on the way (an amount, a status)."""


class TradeState(StrEnum):
    WAIT_BUYER_PAY = "WAIT_BUYER_PAY"
    TRADE_SUCCESS = "TRADE_SUCCESS"
    TRADE_CLOSED = "TRADE_CLOSED"
    TRADE_FINISHED = "TRADE_FINISHED"
    # The provider has no such trade; for a QR trade that is also the state before the buyer scans.
    NOT_FOUND = "NOT_FOUND"


@dataclass(frozen=True)
class QrTrade:
    qr_code: str


@dataclass(frozen=True)
class TradeStatus:
    status: TradeState
    trade_no: str | None
    amount_cents: int | None
    paid_at: dt.datetime | None


@dataclass(frozen=True)
class RefundResult:
    out_trade_no: str
    out_request_no: str
    refund_cents: int
    refunded_total_cents: int
    trade_no: str | None


class RefundState(StrEnum):
    # The provider made the refund of this request number.
    REFUNDED = "REFUNDED"
    # The provider has no refund of this request number (never received, or failed): sending the
    # same request again is safe and refunds at most once.
    NOT_REFUNDED = "NOT_REFUNDED"


@dataclass(frozen=True)
class RefundQuery:
    out_trade_no: str
    out_request_no: str
    state: RefundState
    refund_cents: int | None
    trade_no: str | None


@dataclass(frozen=True)
class Notification:
    out_trade_no: str
    trade_no: str
    status: TradeState
    amount_cents: int
    paid_at: dt.datetime | None
    notify_id: str


class PaymentProvider(Protocol):
    def precreate(self, out_trade_no: str, amount_cents: int, subject: str, notify_url: str,
                  expires_at: dt.datetime | None = None) -> QrTrade:
        """Open a trade the buyer pays by scanning the returned QR code; the provider closes it
        by itself at `expires_at` (without it, after the provider's default of a few hours)."""

    def query(self, out_trade_no: str) -> TradeStatus:
        """Ask the provider where the trade stands."""

    def refund(self, out_trade_no: str, refund_cents: int, out_request_no: str, reason: str) -> RefundResult:
        """Refund part or all of a paid trade; repeating an ``out_request_no`` refunds nothing more
        and answers as the first time."""

    def query_refund(self, out_trade_no: str, out_request_no: str) -> RefundQuery:
        """Ask the provider whether the refund of ``out_request_no`` was made: settles a refund
        whose answer was lost or uncertain (a timeout, a broken connection)."""

    def close(self, out_trade_no: str) -> None:
        """Close an unpaid trade. A trade the provider never saw counts as closed; a buyer who
        scanned an old QR code may still pay, so a late payment must be expected anyway."""

    def verify_notification(self, params: dict[str, str]) -> Notification:
        """Check the signature of an asynchronous notification and read it; raises
        BadSignature or BadNotification."""

    def download_bill(self, day: dt.date) -> str:
        """The provider's trade bill (业务明细) of a business day (Beijing time) as text, in
        Alipay's statement CSV format; see ``billing.reconciliation.parse_bill``."""
