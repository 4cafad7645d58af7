"""The sandbox wallet: what a buyer's phone shows after scanning the sandbox's QR code.

Registered only with the sandbox provider outside production. Paying here completes the
trade in the sandbox ledger; the sandbox then posts its signed notification to the notify
URL the trade was opened with, asynchronously, as Alipay does.
"""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from billing.payments import sandbox_notifier
from billing.payments.interfaces import PaymentProvider, ProviderError
from web.services import find_service

wallet_bp = Blueprint("sandbox_wallet", __name__, url_prefix="/sandbox/wallet")


def cashier(out_trade_no: str):
    provider = find_service(PaymentProvider)
    trade = provider.describe(out_trade_no)
    if trade is None:
        abort(404)
    return render_template("sandbox/wallet.html", trade=trade, paid=False, error=None)


def pay(out_trade_no: str):
    provider = find_service(PaymentProvider)
    trade = provider.describe(out_trade_no) or abort(404)
    try:
        notifications = provider.pay(out_trade_no)
    except ProviderError as exc:
        return render_template("sandbox/wallet.html", trade=trade, paid=False, error=str(exc)), 409
    sandbox_notifier.deliver_in_background(provider, out_trade_no, trade["notify_url"], notifications)
    return render_template("sandbox/wallet.html", trade=provider.describe(out_trade_no), paid=True, error=None)


wallet_bp.add_url_rule("/<out_trade_no>", view_func=cashier, methods=["GET"])
wallet_bp.add_url_rule("/<out_trade_no>/pay", view_func=pay, methods=["POST"])
