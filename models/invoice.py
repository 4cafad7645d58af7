"""E-invoices (电子发票): blue invoices for payments, red ones reversing them."""
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import Base, enum_type, intpk, str20, str120, str255
from models.order_number import take_next
from models.sealed import SealedBytes, SealedText


class InvoiceKind(enum.StrEnum):
    BLUE = "blue"
    RED = "red"  # 红字发票: reverses a blue invoice


class InvoiceStatus(enum.StrEnum):
    ISSUED = "issued"
    VOIDED = "voided"  # 作废: cancelled in the month of issue; the number stays used
    REVERSED = "reversed"  # a red invoice reverses it


class Invoice(Base):
    __tablename__ = "invoice"
    __table_args__ = (UniqueConstraint("issuer", "year", "sequence"),)

    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    kind: Mapped[InvoiceKind] = mapped_column(enum_type(InvoiceKind, 8))
    status: Mapped[InvoiceStatus] = mapped_column(enum_type(InvoiceStatus, 12))
    issuer: Mapped[str20]
    # The number the issuer assigned; the sandbox numbers each year from 1 without gaps.
    number: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int]
    sequence: Mapped[int | None]
    original_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(index=True)
    buyer_name: Mapped[str255]
    buyer_taxpayer_id: Mapped[str20 | None]  # a person (a personal certificate's holder) has none
    buyer_address_phone: Mapped[str255 | None]
    buyer_bank_account: Mapped[str | None] = mapped_column(SealedText("invoice.buyer_bank_account"))
    item_name: Mapped[str120]
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    amount_cents: Mapped[int]
    tax_cents: Mapped[int]
    total_cents: Mapped[int]
    verify_url: Mapped[str255]
    # The PDF, in the document store under this name (it prints the buyer's bank account in full,
    # as an invoice must: the store seals it).
    pdf_name: Mapped[str | None] = mapped_column(String(64))
    # Where the PDF was kept before the store: `flask --app wsgi storage migrate` moves it into the
    # store and empties this. Nothing else reads it.
    legacy_pdf: Mapped[bytes | None] = mapped_column("pdf", SealedBytes("invoice.pdf"))
    voided_at: Mapped[dt.datetime | None]
    voided_by: Mapped[str | None] = mapped_column(String(80))
    void_reason: Mapped[str | None] = mapped_column(Text)

    order = relationship("Order")
    original: Mapped[Invoice | None] = relationship(remote_side="Invoice.id")

    @property
    def filename(self) -> str:
        return f"invoice-{self.number}.pdf"


class InvoiceSequence(Base):
    """The sandbox issuer's counter per year; taken in the invoice's own transaction, so a
    rolled-back invoice gives its number back and the sequence has no gaps."""

    __tablename__ = "invoice_sequence"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)


def next_invoice_sequence(session: Session, year: int) -> int:
    return take_next(session, InvoiceSequence, year=year)


__all__ = ["Invoice", "InvoiceKind", "InvoiceSequence", "InvoiceStatus", "next_invoice_sequence"]
