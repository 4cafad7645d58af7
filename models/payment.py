"""Payments: one provider trade per order, every notification received, and refunds."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, created, enum_type, intpk, str20, str64
from models.staff import Staff

# Payment.provider of a bank transfer made to the CA's account and matched by finance (补办): no
# provider holds it, so its refund is paid back by hand as well (billing.refunds).
BANK_TRANSFER = "bank_transfer"


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"  # QR code shown, not paid yet
    PAID = "paid"
    CLOSED = "closed"  # the order was cancelled unpaid; the trade is closed at the provider
    REFUNDED = "refunded"


class Payment(Base):
    """The order's trade at the payment provider. One per order, with the order number as
    the merchant's trade number, so a second payment for an order cannot even be opened."""

    __tablename__ = "payment"
    # A bank transfer pays one order only, even when two finance staff match its reference at once.
    __table_args__ = (Index("uq_payment_bank_reference", "trade_no", unique=True,
                            sqlite_where=text(f"provider = '{BANK_TRANSFER}'"),
                            postgresql_where=text(f"provider = '{BANK_TRANSFER}'")),)

    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), unique=True)
    provider: Mapped[str20]
    out_trade_no: Mapped[str64] = mapped_column(unique=True)
    amount_cents: Mapped[int]
    status: Mapped[PaymentStatus] = mapped_column(enum_type(PaymentStatus, 12), index=True)
    trade_no: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[created] = mapped_column(index=True)
    paid_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    closed_at: Mapped[dt.datetime | None]

    order = relationship("Order")
    refund: Mapped[Refund | None] = relationship(back_populates="payment")


class NotificationOutcome(enum.StrEnum):
    ACCEPTED = "accepted"  # this notification paid the order
    DUPLICATE = "duplicate"  # the payment was already recorded; nothing changed
    LATE = "late"  # paid after the order was cancelled: refunded automatically
    IGNORED = "ignored"  # a state that pays nothing (waiting, closed)
    BAD_SIGNATURE = "bad_signature"
    MALFORMED = "malformed"
    AMOUNT_MISMATCH = "amount_mismatch"
    UNKNOWN_TRADE = "unknown_trade"


REJECTED_OUTCOMES = frozenset({NotificationOutcome.BAD_SIGNATURE, NotificationOutcome.MALFORMED,
                               NotificationOutcome.AMOUNT_MISMATCH, NotificationOutcome.UNKNOWN_TRADE})


class PaymentNotification(Base):
    """Every asynchronous notification as received, with what we made of it."""

    __tablename__ = "payment_notification"

    id: Mapped[intpk]
    received_at: Mapped[created] = mapped_column(index=True)
    provider: Mapped[str20]
    out_trade_no: Mapped[str | None] = mapped_column(String(64), index=True)
    notify_id: Mapped[str | None] = mapped_column(String(64))
    trade_status: Mapped[str | None] = mapped_column(String(24))
    amount_cents: Mapped[int | None]
    outcome: Mapped[NotificationOutcome] = mapped_column(enum_type(NotificationOutcome, 20), index=True)
    detail: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict] = mapped_column(JSON)


class RefundReason(enum.StrEnum):
    REJECTED = "rejected"  # the review rejected a paid order; finance confirms
    LATE_PAYMENT = "late_payment"  # paid after cancellation; refunded automatically
    MATERIALS_LAPSED = "materials_lapsed"  # more materials never came: cancelled, refunded automatically


class RefundStatus(enum.StrEnum):
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    CONFIRMED = "confirmed"  # to be sent to the provider (again, after a failure)
    SUCCEEDED = "succeeded"


class Refund(Base):
    """A whole payment given back. Its request number is derived from the trade, so asking
    the provider again after a crash refunds nothing twice."""

    __tablename__ = "refund"

    id: Mapped[intpk]
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), unique=True)
    out_request_no: Mapped[str64] = mapped_column(unique=True)
    amount_cents: Mapped[int]
    reason: Mapped[RefundReason] = mapped_column(enum_type(RefundReason, 20))
    status: Mapped[RefundStatus] = mapped_column(enum_type(RefundStatus, 24), index=True)
    requested_by: Mapped[str] = mapped_column(String(80))
    requested_at: Mapped[created] = mapped_column(index=True)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    confirmed_at: Mapped[dt.datetime | None]
    succeeded_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    payment: Mapped[Payment] = relationship(back_populates="refund")
    confirmed_by: Mapped[Staff | None] = relationship()
