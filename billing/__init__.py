"""Prices, payments, refunds, e-invoices and reconciliation."""
from __future__ import annotations

from flask import Flask, current_app

from billing.services import BillingServices, build_services


def init_app(app: Flask) -> None:
    from billing.blueprint import finance_bp
    from billing.labels import billing_label
    from billing.wallet import wallet_bp

    app.add_template_global(billing_label)
    app.register_blueprint(finance_bp)
    if app.config["PAYMENT_PROVIDER"] == "sandbox" and app.config["APP_ENV"] != "production":
        app.register_blueprint(wallet_bp)


def services() -> BillingServices:
    """The app's billing services, made on first use (after the config is final)."""
    app = current_app._get_current_object()
    if "billing" not in app.extensions:
        app.extensions["billing"] = build_services(app.config)
    return app.extensions["billing"]
