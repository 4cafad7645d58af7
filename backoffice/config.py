"""Configuration: defaults, then instance secrets, then the environment, then test overrides."""
from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

from documents import materials

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("BACKOFFICE_INSTANCE", ROOT / "instance"))

SECRET_NAMES = ("SECRET_KEY", "FIELD_ENCRYPTION_KEY", "LOOKUP_KEY", "AUDIT_SEAL_KEY")


class Defaults:
    APP_ENV = "development"
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE / 'backoffice.db'}"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    UPLOAD_FOLDER = str(INSTANCE / "uploads")
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024
    MATERIAL_MAX_BYTES = 1536 * 1024  # 1.5 MB, as the portal promises
    MATERIAL_MAX_PIXELS = materials.MAX_PIXELS
    MATERIAL_MAX_SIDE = materials.MAX_SIDE
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    PERMANENT_SESSION_LIFETIME = 2 * 3600
    WTF_CSRF_TIME_LIMIT = 2 * 3600
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")
    DEFAULT_CHANNEL = "direct"
    SMS_GATEWAY = "sandbox"  # or "http"
    SMS_HTTP_URL = ""
    SMS_HTTP_KEY = ""
    SMS_CODE_TTL_SECONDS = 300
    SMS_CODE_MAX_ATTEMPTS = 5
    SMS_CODES_PER_PHONE_PER_HOUR = 5
    SMS_CODES_PER_IP_PER_HOUR = 20
    # Codes asked for through the API are counted per channel, not per IP: one channel's
    # server asks for all its applicants.
    SMS_CODES_PER_CHANNEL_PER_HOUR = 1000
    SMS_CODE_MIN_INTERVAL_SECONDS = 60
    CAPTCHA_MAX_ATTEMPTS = 5
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Reverse proxies in front of the app that add X-Forwarded-For / -Proto / -Host
    # (werkzeug's ProxyFix); 0 when browsers reach the app directly.
    TRUSTED_PROXIES = 0
    # The API keeps the first answer to a call with an Idempotency-Key this long.
    IDEMPOTENCY_KEY_HOURS = 24
    # Full ID and bank numbers one staff member may reveal per hour.
    REVEALS_PER_STAFF_PER_HOUR = 30
    # The CA whose registration desk this is: named in the consent texts and agreements,
    # its service phone on every public page.
    CA_NAME = "示例数字认证股份有限公司"
    CA_NAME_EN = "Example Digital Certification Co., Ltd."
    CA_SERVICE_PHONE = "400-000-1234"
    TESTING = False
    # Links in SMS and e-mail to applicants point here.
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"
    # Staff sign-in: password, then a TOTP code; lock-out; idle timeout.
    STAFF_MAX_FAILED_LOGINS = 5
    STAFF_LOCKOUT_MINUTES = 15
    STAFF_IDLE_TIMEOUT_MINUTES = 30
    TOTP_ISSUER = "CA Registration Desk"
    # Audit chain: the head is sealed with AUDIT_SEAL_KEY (never stored in the database).
    AUDIT_SEAL_MAX_AGE_HOURS = 26
    # Every new chain head's MAC is also appended here, outside the database, so rows cut off
    # back to an earlier head are found. Keep it on other storage than the database in production.
    AUDIT_ANCHOR_PATH = str(INSTANCE / "audit-anchor.log")
    # E-mail: "sandbox" keeps messages in the outbox only; "smtp" sends them.
    MAIL_GATEWAY = "sandbox"
    MAIL_FROM = "noreply@ca.example.cn"
    SMTP_HOST = "localhost"
    SMTP_PORT = 25
    SMTP_USERNAME = ""
    SMTP_PASSWORD = ""
    SMTP_STARTTLS = False
    # The 0.01-yuan transfer whose memo carries the certificate password.
    BANK_TRANSFER_GATEWAY = "sandbox"  # or "http"
    BANK_TRANSFER_HTTP_URL = ""
    BANK_TRANSFER_HTTP_KEY = ""
    # Identity verification (real-name, bank card, corporate transfer results).
    IDENTITY_VERIFIER = "sandbox"  # or "http"
    IDENTITY_HTTP_URL = ""
    IDENTITY_HTTP_KEY = ""
    # Review console.
    QUEUE_PAGE_SIZE = 20
    QUEUE_COUNTS_TTL_SECONDS = 15
    MATERIAL_REQUEST_TTL_DAYS = 15
    PHONE_REUSE_WARNING_ORGS = 3
    # Payments: "sandbox" (its own ledger under instance/) or "alipay" (OpenAPI, RSA2 keys).
    PAYMENT_PROVIDER = "sandbox"
    SANDBOX_PAY_LEDGER = str(INSTANCE / "sandbox-pay" / "ledger.sqlite3")
    SANDBOX_PAY_DELAY_SECONDS = 3.0
    ALIPAY_APP_ID = ""
    ALIPAY_PRIVATE_KEY = ""
    ALIPAY_PUBLIC_KEY = ""
    ALIPAY_GATEWAY_URL = "https://openapi.alipay.com/gateway.do"
    ALIPAY_SELLER_ID = ""  # the merchant's Alipay account (2088…): notifications must name it
    # An order not paid within this many hours is cancelled by `billing cancel-unpaid`.
    PAYMENT_WINDOW_HOURS = 24
    # E-invoices: "sandbox" numbers them itself; a tax platform adapter assigns numbers there.
    INVOICE_ISSUER = "sandbox"
    INVOICE_VERIFY_URL = "https://inv-veri.chinatax.gov.cn/"
    INVOICE_PLATFORM_URL = ""
    INVOICE_PLATFORM_KEY = ""
    SELLER_NAME = "示例数字认证股份有限公司"
    SELLER_TAXPAYER_ID = "91110000MA00CA0001"
    SELLER_ADDRESS_PHONE = "北京市海淀区知春路 1 号 010-88886666"
    SELLER_BANK_ACCOUNT = "中国工商银行北京海淀支行 0200001234567890123"
    INVOICE_DRAWER = "财务"


def load(test_config: dict | None = None) -> dict:
    config = {k: getattr(Defaults, k) for k in dir(Defaults) if k.isupper()}
    config.update(_from_environment())
    if test_config:
        config.update(test_config)
    if config["APP_ENV"] == "production":
        missing = _missing_in_production(config)
        if missing:
            raise RuntimeError(f"production needs these settings: {', '.join(missing)}")
    else:
        config["SESSION_COOKIE_SECURE"] = config.get("SESSION_COOKIE_SECURE_IN_DEV", False)
        for name, value in _dev_secrets().items():
            config.setdefault(name, value)
    return config


def _missing_in_production(config: dict) -> list[str]:
    """The secrets. The services' settings (no sandbox in production) are checked once the
    packages have registered them: web.services.check."""
    return [name for name in SECRET_NAMES if not config.get(name)]


def _from_environment() -> dict:
    env: dict = {}
    if url := os.environ.get("DATABASE_URL"):
        env["SQLALCHEMY_DATABASE_URI"] = url
    for name in (*SECRET_NAMES, "APP_ENV", "SMS_GATEWAY", "SMS_HTTP_URL", "SMS_HTTP_KEY",
                 "RATELIMIT_STORAGE_URI", "UPLOAD_FOLDER", "DEFAULT_CHANNEL", "PUBLIC_BASE_URL",
                 "MAIL_GATEWAY", "MAIL_FROM", "SMTP_HOST", "SMTP_USERNAME", "SMTP_PASSWORD",
                 "BANK_TRANSFER_GATEWAY", "BANK_TRANSFER_HTTP_URL", "BANK_TRANSFER_HTTP_KEY",
                 "IDENTITY_VERIFIER", "IDENTITY_HTTP_URL", "IDENTITY_HTTP_KEY",
                 "PAYMENT_PROVIDER", "SANDBOX_PAY_LEDGER", "ALIPAY_APP_ID", "ALIPAY_PRIVATE_KEY",
                 "ALIPAY_PUBLIC_KEY", "ALIPAY_GATEWAY_URL", "ALIPAY_SELLER_ID", "INVOICE_ISSUER",
                 "INVOICE_PLATFORM_URL",
                 "INVOICE_PLATFORM_KEY", "SELLER_NAME",
                 "SELLER_TAXPAYER_ID", "SELLER_ADDRESS_PHONE", "SELLER_BANK_ACCOUNT", "AUDIT_ANCHOR_PATH",
                 "CA_NAME", "CA_NAME_EN", "CA_SERVICE_PHONE"):
        if name in os.environ:
            env[name] = os.environ[name]
    if "SMTP_PORT" in os.environ:
        env["SMTP_PORT"] = int(os.environ["SMTP_PORT"])
    for name in ("TRUSTED_PROXIES", "SMS_CODES_PER_CHANNEL_PER_HOUR", "REVEALS_PER_STAFF_PER_HOUR"):
        if name in os.environ:
            env[name] = int(os.environ[name])
    if "SMTP_STARTTLS" in os.environ:
        env["SMTP_STARTTLS"] = os.environ["SMTP_STARTTLS"] == "1"
    return env


def _dev_secrets() -> dict:
    """Development keys, made once per checkout and kept under instance/."""
    path = INSTANCE / "secrets.json"
    values = json.loads(path.read_text()) if path.exists() else {}
    if all(name in values for name in SECRET_NAMES):
        return values
    INSTANCE.mkdir(parents=True, exist_ok=True)
    values.setdefault("SECRET_KEY", secrets.token_hex(32))
    for name in SECRET_NAMES[1:]:
        values.setdefault(name, base64.b64encode(os.urandom(32)).decode())
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values
