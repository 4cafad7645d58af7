"""Prices, payments, refunds, e-invoices and reconciliation."""
from __future__ import annotations

from flask import current_app

from billing.services import BillingServices, build_services


def services() -> BillingServices:
    """The app's billing services, made on first use (after the config is final)."""
    app = current_app._get_current_object()
    if "billing" not in app.extensions:
        app.extensions["billing"] = build_services(app.config)
    return app.extensions["billing"]
