"""The sandbox behaves like Alipay towards the merchant: its wallet page pays a trade, and
its notifications are posted to the notify URL until the answer is "success"."""
from __future__ import annotations

import datetime as dt
import urllib.parse

from billing.payments import sandbox_notifier
from billing.payments.sandbox import SandboxProvider
from tests.conftest import PRODUCTION, REAL_BILLING
from tests.fake_service import local_service


def test_notifications_are_posted_again_until_accepted(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox_notifier, "RETRY_SECONDS", (0, 0, 0, 0))
    provider = SandboxProvider(tmp_path / "ledger.sqlite3", delay_seconds=0)
    received = []

    def respond(body, headers):
        received.append(dict(urllib.parse.parse_qsl(body.decode())))
        return 200, "text/plain", b"success" if len(received) == 3 else b"fail"

    with local_service(respond, "/pay/notify") as url:
        provider.precreate("20261126U000007", 30000, "数字证书", url)
        sandbox_notifier.deliver(provider, "20261126U000007", url, provider.pay("20261126U000007"))
    assert len(received) == 3 and received[0] == received[2]
    assert provider.verify_notification(received[2]).amount_cents == 30000


def test_a_delayed_payment_is_notified_once_it_completes(tmp_path, monkeypatch):
    clock = [dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)]
    monkeypatch.setattr(sandbox_notifier, "RETRY_SECONDS", (0,))
    # waiting moves the sandbox's clock instead of the test's
    monkeypatch.setattr(sandbox_notifier.time, "sleep", lambda seconds: clock.append(
        clock[-1] + dt.timedelta(seconds=seconds)))
    provider = SandboxProvider(tmp_path / "ledger.sqlite3", delay_seconds=30, now=lambda: clock[-1])
    received = []

    def respond(body, headers):
        received.append(dict(urllib.parse.parse_qsl(body.decode())))
        return 200, "text/plain", b"success"

    with local_service(respond) as url:
        provider.precreate("DELAY-1", 100, "数字证书", url)
        scanned = provider.pay("DELAY-1")
        assert scanned == [] and provider.describe("DELAY-1")["status"] == "WAIT_BUYER_PAY"
        sandbox_notifier.deliver(provider, "DELAY-1", url, scanned)
    assert [n["trade_status"] for n in received] == ["TRADE_SUCCESS"]
    assert clock[-1] - clock[0] >= dt.timedelta(seconds=30)


def test_the_wallet_page_pays_the_trade_and_notifies_the_shop(app, client, billing_services, monkeypatch):
    posted = []
    monkeypatch.setattr(sandbox_notifier, "deliver_in_background",
                        lambda provider, number, url, notifications: posted.append((number, url, notifications)))
    billing_services.provider.precreate("20261126U000009", 30000, "数字证书 1年期单位证书", billing_services.notify_url)
    page = client.get("/sandbox/wallet/20261126U000009").get_data(as_text=True)
    assert "300.00" in page and "数字证书 1年期单位证书" in page
    paid = client.post("/sandbox/wallet/20261126U000009/pay")
    assert paid.status_code == 200 and 'id="wallet-paid"' in paid.get_data(as_text=True)
    [(number, url, notifications)] = posted
    assert (number, url) == ("20261126U000009", "http://127.0.0.1:5000/pay/notify")
    assert notifications[0]["trade_status"] == "TRADE_SUCCESS"
    again = client.post("/sandbox/wallet/20261126U000009/pay")  # a paid trade cannot be paid again
    assert again.status_code == 409
    assert client.get("/sandbox/wallet/unknown").status_code == 404


def test_no_wallet_with_a_real_provider_or_in_production(make_app):
    assert "sandbox_wallet" not in make_app(**REAL_BILLING).blueprints
    assert "sandbox_wallet" not in make_app(**PRODUCTION).blueprints
