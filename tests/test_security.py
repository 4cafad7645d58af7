"""The security baseline every page and command keeps."""
from __future__ import annotations

import pytest

from backoffice import create_app
from tests.conftest import PRODUCTION, solve_captcha


def test_health_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["database"] == "ok"


def test_pages_carry_a_content_security_policy(client):
    headers = client.get("/c/direct/apply").headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"


def test_posts_without_csrf_token_are_refused(make_app, db_session, form_data):
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    assert client.post("/c/direct/apply", data=form_data).status_code == 400


def test_captcha_hook_serves_development_for_scripts_and_load_tests(make_app, db_session):
    client = make_app(TESTING=False, APP_ENV="development").test_client()
    assert len(solve_captcha(client, "/c/direct/apply")["captcha"]) == 4


def test_production_has_no_captcha_hook(make_app, db_session):
    app = make_app(**PRODUCTION)
    assert not [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/_test")]
    client = app.test_client()
    page = client.get("/c/direct/apply").get_data(as_text=True)
    token = page.split('name="captcha_token" value="', 1)[1].split('"', 1)[0]
    assert client.get(f"/captcha.png?t={token}").status_code == 200
    assert client.get(f"/_test/captcha?t={token}").status_code == 404


def test_production_needs_its_secrets(monkeypatch):
    monkeypatch.delenv("BACKOFFICE_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="production needs these settings: SECRET_KEY"):
        create_app({"APP_ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:9/0"})


def test_production_refuses_rate_limits_counted_in_each_process_alone(make_app):
    with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI=memory:// counts in each web process alone"):
        make_app(**{**PRODUCTION, "RATELIMIT_STORAGE_URI": "memory://"})


def test_production_session_cookie_is_secure(make_app):
    app = make_app(**PRODUCTION)
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]


def test_sms_outbox_command_prints_latest_and_is_refused_in_production(runner, db_session, make_app):
    from notifications.interfaces import SmsContent
    from notifications.outbox import queue_sms

    queue_sms(db_session, "13700001111", SmsContent("test", "SMS_T", {}, "第一条"))
    queue_sms(db_session, "13700001111", SmsContent("test", "SMS_T", {}, "第二条"))
    db_session.commit()
    result = runner.invoke(args=["sms", "outbox", "--phone", "13700001111"])
    assert result.exit_code == 0 and "第二条" in result.output
    production = make_app(**PRODUCTION)
    result = production.test_cli_runner().invoke(args=["sms", "outbox", "--phone", "13700001111"])
    assert result.exit_code != 0 and "production" in result.output


def test_a_message_carrying_a_secret_is_stored_sealed(db_session):
    from sqlalchemy import text

    from notifications.interfaces import SmsContent
    from notifications.outbox import queue_sms

    message = queue_sms(db_session, "13700002222", SmsContent(
        "certificate_password", "SMS_000007", {"password": "Kx93-2a"}, "证书密码 Kx93-2a"), secret=True)
    raw = db_session.execute(text("SELECT body, sealed_body, sealed_params FROM sms_message WHERE id = :id"),
                             {"id": message.id}).one()
    assert raw[0] is None and b"Kx93-2a" not in bytes(raw[1]) and b"Kx93-2a" not in bytes(raw[2])
    assert message.text == "证书密码 Kx93-2a" and message.params == {"password": "Kx93-2a"}


SERVICE_SETTINGS = ("PAYMENT_PROVIDER", "INVOICE_ISSUER", "SMS_GATEWAY", "MAIL_GATEWAY", "BANK_TRANSFER_GATEWAY",
                    "IDENTITY_VERIFIER", "COURIER_TRACKING")


@pytest.mark.parametrize("setting", SERVICE_SETTINGS)
def test_production_refuses_every_sandbox(make_app, setting):
    with pytest.raises(RuntimeError, match=f"{setting}=sandbox is a sandbox") as refused:
        make_app(**{**PRODUCTION, setting: "sandbox"})
    assert str(refused.value).count("is a sandbox") == 1


def test_production_sends_mail_only_over_tls(make_app):
    with pytest.raises(RuntimeError, match="MAIL_GATEWAY=smtp: mail would travel in the clear, the SMTP password "
                                          r"with it: set SMTP_TLS=1 \(SMTPS\) or SMTP_STARTTLS=1"):
        make_app(**{**PRODUCTION, "SMTP_STARTTLS": False})
    assert make_app(**PRODUCTION).config["SMTP_STARTTLS"]
    assert make_app(**{**PRODUCTION, "SMTP_STARTTLS": False, "SMTP_TLS": True, "SMTP_PORT": 465})
    assert not make_app(SMTP_STARTTLS=False, MAIL_GATEWAY="smtp").config["SMTP_STARTTLS"]  # a development relay


def test_production_names_every_sandbox_left_at_its_default(make_app):
    real = {name: value for name, value in PRODUCTION.items() if name not in SERVICE_SETTINGS}
    with pytest.raises(RuntimeError) as refused:
        make_app(**real)
    named = [setting for setting in SERVICE_SETTINGS if f"{setting}=sandbox is a sandbox" in str(refused.value)]
    assert named == list(SERVICE_SETTINGS)


@pytest.mark.parametrize("setting", ["ALIPAY_APP_ID", "ALIPAY_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY", "ALIPAY_SELLER_ID",
                                     "INVOICE_PLATFORM_URL", "INVOICE_PLATFORM_KEY", "SMS_HTTP_URL", "SMS_HTTP_KEY",
                                     "BANK_TRANSFER_HTTP_URL", "BANK_TRANSFER_HTTP_KEY", "IDENTITY_HTTP_URL",
                                     "IDENTITY_HTTP_KEY", "SMTP_HOST", "MAIL_FROM"])
def test_production_refuses_a_real_service_without_its_settings(make_app, setting):
    with pytest.raises(RuntimeError, match=f"{setting} is empty and [A-Z_]+=[a-z_]+ needs it"):
        make_app(**{**PRODUCTION, setting: ""})


def test_production_starts_with_every_service_real(make_app):
    assert make_app(**PRODUCTION).config["APP_ENV"] == "production"


@pytest.mark.parametrize(("proxies", "seen"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_the_client_address_comes_from_trusted_proxies_only(make_app, db_session, proxies, seen):
    from flask import request

    app = make_app(TRUSTED_PROXIES=proxies)
    app.add_url_rule("/_whoami", view_func=lambda: request.remote_addr)
    headers = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}  # the client forged the first one
    assert app.test_client().get("/_whoami", headers=headers).get_data(as_text=True) == seen
