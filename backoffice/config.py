"""Configuration: defaults, then the environment, then test overrides; outside production,
development secrets from instance/ for those still empty.

Every setting of `Defaults` can be set in the environment as BACKOFFICE_<NAME>, converted to the
type of its default; the database URL and the environment keep the names hosts and tools give
them, DATABASE_URL and APP_ENV. README lists every setting.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from documents import materials, retention
from models.business_time import BUSINESS_TZ

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
# Read before any setting, since the default paths lie in it; so it is no setting itself.
INSTANCE = Path(os.environ.get("BACKOFFICE_INSTANCE", ROOT / "instance"))

SECRET_NAMES = ("SECRET_KEY", "FIELD_ENCRYPTION_KEY", "LOOKUP_KEY", "AUDIT_SEAL_KEY", "SIGNING_SERVICE_KEY",
                "STORAGE_ENCRYPTION_KEY")
PREFIX = "BACKOFFICE_"
NOT_SETTINGS = frozenset({"BACKOFFICE_INSTANCE"})
# Environment variable -> setting, for the two read under their plain names.
PLAIN_NAMES = {"DATABASE_URL": "SQLALCHEMY_DATABASE_URI", "APP_ENV": "APP_ENV"}
TRUE_WORDS = frozenset({"1", "true", "yes"})
FALSE_WORDS = frozenset({"0", "false", "no"})


class Defaults:
    APP_ENV = "development"
    # Secrets: empty here; production refuses to start without them, development makes its own
    # once into instance/secrets.json. All but SECRET_KEY are base64 of 32 bytes.
    SECRET_KEY = ""
    FIELD_ENCRYPTION_KEY = ""  # AES-GCM of the ID and bank numbers
    LOOKUP_KEY = ""  # HMAC of the numbers searched for
    AUDIT_SEAL_KEY = ""  # seals the audit chain's head; keep it off the database server
    SIGNING_SERVICE_KEY = ""  # signs the web app's calls to the signing service (both read it)
    STORAGE_ENCRYPTION_KEY = ""  # AES-256-GCM of every stored document (materials, invoice PDFs)
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE / 'backoffice.db'}"
    # A pooled connection is checked before use: after a database restart or failover no request
    # meets a dead connection (tests/faults/test_database_restart.py).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # The document store (documents.storage): "filesystem" keeps the sealed documents under
    # UPLOAD_FOLDER, "s3" in an S3-compatible bucket (credentials from boto3's own chain: the
    # environment, ~/.aws, an instance role). Either way they are encrypted in the app first.
    STORAGE_BACKEND = "filesystem"
    UPLOAD_FOLDER = str(INSTANCE / "uploads")
    STORAGE_S3_BUCKET = ""
    STORAGE_S3_PREFIX = ""  # e.g. "backoffice/": the objects' keys start with it
    STORAGE_S3_ENDPOINT_URL = ""  # empty: AWS; else MinIO's, Ceph's, OSS's or COS's S3 address
    STORAGE_S3_REGION = ""
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024
    MATERIAL_MAX_BYTES = 1536 * 1024  # 1.5 MB, as the portal promises
    MATERIAL_MAX_PIXELS = materials.MAX_PIXELS
    MATERIAL_MAX_SIDE = materials.MAX_SIDE
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    # Outside production SESSION_COOKIE_SECURE takes this value, so http://127.0.0.1 keeps its session.
    SESSION_COOKIE_SECURE_IN_DEV = False
    PERMANENT_SESSION_LIFETIME = 2 * 3600
    WTF_CSRF_TIME_LIMIT = 2 * 3600
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = BUSINESS_TZ.key  # pages show business time
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
    # The signature the carriers registered for the CA; every SMS text starts with it.
    SMS_SIGNATURE = "【数字证书】"
    # The provider's approved template for each kind of SMS (templates/sms/<kind>.txt): Chinese
    # carriers (Aliyun, Tencent Cloud) send a template code and its parameters, never free text.
    SMS_TEMPLATE_CODES = {
        "order_signature": "SMS_000001",
        "order_query": "SMS_000002",
        "review_approved": "SMS_000003",
        "review_approved_transfer": "SMS_000004",
        "review_rejected": "SMS_000005",
        "more_materials": "SMS_000006",
        "certificate_password": "SMS_000007",
        "refund_succeeded": "SMS_000008",
        "shipped": "SMS_000009",
        "parcel_returned": "SMS_000010",
        "review_approved_info_change": "SMS_000021",
        "review_approved_personal": "SMS_000051",
        "certificate_revoked": "SMS_000022",
        "transfer_refused": "SMS_000031",
        "key_unlocked": "SMS_000041",
        "unlock": "SMS_000042",
        "key_unlocked_online": "SMS_000043",
        "more_materials_reminder": "SMS_000061",
        "more_materials_lapsed": "SMS_000062",
        "renewal_reminder": "SMS_000063",
        "renewal_expired": "SMS_000064",
    }
    CAPTCHA_MAX_ATTEMPTS = 5
    # Where rate limits count. memory:// counts in each process alone (N web processes would allow
    # N times every limit): production refuses it; redis://host:6379/0 is shared. When the shared
    # store cannot be reached, each process counts alone meanwhile rather than refuse every request.
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
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
    # `ca check-expiry` warns the admins this long before a CA certificate in use ends, and this
    # close to the newest CRL's next update (which the scheduled `ca publish-crl` should move on).
    CA_EXPIRY_WARNING_DAYS = 90
    CRL_EXPIRY_WARNING_HOURS = 6
    # The signing service (issuance/signing_app.py, its own process: signing_wsgi.py) holds the CA's
    # keys; the web app asks it over HTTP. It reads the database as SIGNER_DATABASE_URL (a role of its
    # own on PostgreSQL; empty: the app's database).
    SIGNING_SERVICE = "http"
    SIGNING_SERVICE_URL = "http://127.0.0.1:5001"
    SIGNER_DATABASE_URL = ""
    # Where the ceremony makes CA keys: "keyfile" (files in CA_KEY_FOLDER; production warns) or
    # "pkcs11" (generated on the token CA_TOKEN_LABEL of PKCS11_MODULE, which the signing service
    # then logs in to with CA_TOKEN_PIN).
    CA_SIGNER = "keyfile"
    CA_KEY_FOLDER = str(INSTANCE / "ca")
    PKCS11_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
    CA_TOKEN_LABEL = "ca"
    CA_TOKEN_PIN = ""
    # Where relying parties fetch the CRL, ask OCSP and download the CA certificates (the signing
    # service's public routes, or a proxy to them): written into every certificate, so it must last.
    CA_PUBLIC_URL = "http://127.0.0.1:5001"
    # A CRL's next update this many hours after it is signed; `ca publish-crl` runs well within it.
    CRL_NEXT_UPDATE_HOURS = 24
    # The key programming station. A blank key from the vendor carries its transport SO PIN; the
    # product counts the wrong PIN logins it drives per key and stops before STATION_PIN_LIMIT (real
    # keys lock at 10). A running job whose agent has not been heard from this long is interrupted.
    # The password card goes with each key; it carries the PIN (the certificate password) only where
    # the CA delivers the password on paper. The password is destroyed once such a card is printed,
    # else when the key is programmed (it reached the applicant by SMS or transfer memo at approval).
    PASSWORD_CARD_PRINTS_PIN = False
    # Shipping: the courier's tracking service confirms deliveries and returns ("sandbox", or
    # "kuaidi100": its real-time query API with the CA's customer ID and key).
    COURIER_TRACKING = "sandbox"
    KUAIDI100_URL = "https://poll.kuaidi100.com/poll/query.do"
    KUAIDI100_CUSTOMER = ""
    KUAIDI100_KEY = ""
    # The sandbox courier delivers a parcel this many hours after it was shipped.
    COURIER_SANDBOX_DELIVERY_HOURS = 24
    STATION_TRANSPORT_SO_PIN = "12345678"
    STATION_PIN_LIMIT = 10
    STATION_STALE_SECONDS = 60
    TESTING = False
    # Load-test mode (`make loadtest`): the sandbox phones' inbox is readable at /_test/sms, so the
    # load scripts can sign and query like applicants. Production refuses to start in it.
    LOAD_TEST = False
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
    # Records are kept this many years after the certificate ends (or the order closed without
    # one), then `retention purge` removes the personal data; the law's 5 is the least it takes.
    RETENTION_YEARS = 5
    # E-mail: "sandbox" keeps messages in the outbox only; "smtp" sends them.
    MAIL_GATEWAY = "sandbox"
    MAIL_FROM = "noreply@ca.example.cn"
    SMTP_HOST = "localhost"
    SMTP_PORT = 25
    SMTP_USERNAME = ""
    SMTP_PASSWORD = ""
    SMTP_STARTTLS = False
    SMTP_TLS = False  # SMTPS: TLS from the first byte (usually port 465); wins over SMTP_STARTTLS
    # The 0.01-yuan transfer whose memo carries the certificate password.
    BANK_TRANSFER_GATEWAY = "sandbox"  # or "http"
    BANK_TRANSFER_HTTP_URL = ""
    BANK_TRANSFER_HTTP_KEY = ""
    # What the outboxes (SMS, e-mail, transfers) do when a delivery fails: try again after these
    # minutes (the last repeats), at most this many attempts in all; then the order page flags it.
    OUTBOX_RETRY_MINUTES = (2, 10, 60, 360)
    OUTBOX_MAX_ATTEMPTS = 5
    # The workers (`flask --app wsgi worker`): how long one rests when nothing is due, and the
    # scheduled commands none of them runs (e.g. "billing reconcile" until the provider's bill is set up).
    WORKER_POLL_SECONDS = 1.0
    WORKER_SCHEDULE_OFF: tuple = ()
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
    # Certificate mode (公钥证书), when all three are set: the app's public-key certificate, Alipay's
    # root certificate chain and Alipay's public-key certificate (PEM); its key replaces ALIPAY_PUBLIC_KEY.
    ALIPAY_APP_CERT = ""
    ALIPAY_ROOT_CERT = ""
    ALIPAY_PUBLIC_CERT = ""
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


def defaults() -> dict:
    return {name: getattr(Defaults, name) for name in dir(Defaults) if name.isupper()}


def load(test_config: dict | None = None) -> dict:
    """The app's settings. Production refuses to start without its secrets here; the services'
    settings are checked once the packages have registered them (web.services.check)."""
    config = defaults()
    config.update(from_environment(os.environ))
    if test_config:
        config.update(test_config)
    if config["RETENTION_YEARS"] < retention.MINIMUM_YEARS:
        raise RuntimeError(f"RETENTION_YEARS={config['RETENTION_YEARS']}: records are kept at least "
                           f"{retention.MINIMUM_YEARS} years after the certificate ends "
                           "(Electronic Signature Law, art. 24)")
    if config["APP_ENV"] == "production":
        if config["LOAD_TEST"]:
            raise RuntimeError("LOAD_TEST=1: production refuses the load-test mode (its hooks read applicants' SMS)")
        if config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
            raise RuntimeError("RATELIMIT_STORAGE_URI=memory:// counts in each web process alone, so every process "
                               "would allow a whole limit of its own: set a store the processes share "
                               f"({PREFIX}RATELIMIT_STORAGE_URI=redis://host:6379/0)")
        missing = [name for name in SECRET_NAMES if not config[name]]
        if missing:
            raise RuntimeError(f"production needs these settings: {', '.join(missing)} "
                               f"(in the environment each is {PREFIX}<NAME>)")
    else:
        config["SESSION_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE_IN_DEV"]
        for name, value in _dev_secrets().items():
            if not config[name]:
                config[name] = value
    return config


def from_environment(environ: Mapping[str, str]) -> dict:
    """The settings `environ` gives: BACKOFFICE_<NAME> for each name of Defaults, DATABASE_URL
    and APP_ENV under their own names.

    A BACKOFFICE_ variable that is no setting is refused, not ignored: a misspelt
    BACKOFFICE_IDENTITY_VERIFER would otherwise leave the sandbox in place without a word.
    """
    names = defaults()
    settings = {setting: environ[variable] for variable, setting in PLAIN_NAMES.items() if variable in environ}
    problems = []
    for variable, text in environ.items():
        name = variable.removeprefix(PREFIX)
        if name == variable or variable in NOT_SETTINGS:
            continue
        if name in PLAIN_NAMES.values():
            plain = next(plain for plain, setting in PLAIN_NAMES.items() if setting == name)
            problems.append(f"{variable} is read as {plain}")
        elif name not in names:
            problems.append(f"{variable} is no setting")
        else:
            try:
                settings[name] = _converted(text, names[name])
            except ValueError as exc:
                problems.append(f"{variable}: {exc}")
    if problems:
        raise RuntimeError("the environment has settings the back office cannot take: " + "; ".join(sorted(problems)))
    _warn_of_plain_names(environ, names)
    return settings


def _converted(text: str, default: object) -> object:
    """`text` as the type of the setting's default. Never JSON: an all-digit ALIPAY_APP_ID stays
    a string, and "1" means true only where the default is a bool."""
    if isinstance(default, bool):
        word = text.strip().lower()
        if word in TRUE_WORDS | FALSE_WORDS:
            return word in TRUE_WORDS
        raise ValueError(f"{text!r} is none of 1/0, true/false, yes/no")
    if isinstance(default, int | float):
        try:
            return type(default)(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a{' whole' if isinstance(default, int) else ''} number") from None
    if isinstance(default, str):
        return text
    if isinstance(default, tuple):  # comma-separated, each item as the type of the default's items
        return tuple(_converted(item.strip(), default[0] if default else "") for item in text.split(",")
                     if item.strip())
    raise ValueError(f"a {type(default).__name__} is set in backoffice/config.py, not from the environment")


def _warn_of_plain_names(environ: Mapping[str, str], names: dict) -> None:
    """Settings used to be read under their plain names (SECRET_KEY, SMS_GATEWAY, …): say so when
    one is still set, since it is ignored now."""
    ignored = sorted(name for name in names if name in environ and name not in PLAIN_NAMES)
    if ignored:
        log.warning("ignored in the environment: %s; settings are read as %s<NAME>", ", ".join(ignored), PREFIX)


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
