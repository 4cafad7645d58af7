"""Prices, payments, refunds, e-invoices and reconciliation."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register billing's external services, the payment provider and the invoice issuer, and
    the invoices the workers issue."""
    from billing import invoice_work, issuers, payments

    payments.register(app)
    issuers.register(app)
    invoice_work.register(app)
