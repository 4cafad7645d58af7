"""Prices, payments, refunds, e-invoices and reconciliation."""
from __future__ import annotations

from flask import Flask, Response, current_app

from billing.services import BillingServices, build_services
from models import Invoice


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


def invoice_download(invoice: Invoice) -> Response:
    """The stored PDF as a download nobody caches (it prints the buyer's bank account); for the
    applicant's pages, the order query and the console alike."""
    response = Response(invoice.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{invoice.filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
