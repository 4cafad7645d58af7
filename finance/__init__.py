"""The finance console: payments, refunds, invoices and the reconciliation, and the sandbox
payment provider's wallet pages (registered only with the sandbox, outside production)."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from finance.blueprint import finance_bp
    from finance.wallet import wallet_bp

    app.register_blueprint(finance_bp)
    if app.config["PAYMENT_PROVIDER"] == "sandbox" and app.config["APP_ENV"] != "production":
        app.register_blueprint(wallet_bp)
