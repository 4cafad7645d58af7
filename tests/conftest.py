"""Fixtures: one migrated database per run (SQLite, or PostgreSQL via TEST_DATABASE_URL),
each test inside a transaction rolled back at the end."""
from __future__ import annotations

import base64
import contextlib
import io
import os
import re
from contextlib import contextmanager

import pyotp
import pytest
from flask_migrate import upgrade
from PIL import Image
from sqlalchemy.orm import scoped_session, sessionmaker

from backoffice import create_app, demo
from models import Staff, StaffRole
from models.base import utcnow
from tests.databases import POSTGRESQL_URL
from web import services, staff_accounts
from web.extensions import db

# The document store's key in every test app (tests.factories stores with it too).
STORAGE_KEY = "c3RvcmFnZS1lbmNyeXB0aW9uLWtleS1mb3ItdGVzdHM="


def config_for_tests(tmp_path_factory, database_url: str) -> dict:
    return {
        "TESTING": True,
        "APP_ENV": "test",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("uploads")),
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SECRET_KEY": "test-secret",
        "FIELD_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "LOOKUP_KEY": "bG9va3VwLWtleS1mb3ItdGVzdHMtMzItYnl0ZXMtbG9uZw==",
        "AUDIT_SEAL_KEY": "YXVkaXQtc2VhbC1rZXktZm9yLXRlc3RzLTMyLWJ5dGU=",
        "SIGNING_SERVICE_KEY": "c2lnbmluZy1zZXJ2aWNlLWtleS1mb3ItdGVzdHMtMzI=",
        "STORAGE_ENCRYPTION_KEY": STORAGE_KEY,
        # Never instance/audit-anchor.log: apps on databases of their own really commit heads.
        "AUDIT_ANCHOR_PATH": str(tmp_path_factory.mktemp("audit-anchor") / "audit-anchor.log"),
        "QUEUE_COUNTS_TTL_SECONDS": 0,
        "SANDBOX_PAY_LEDGER": str(tmp_path_factory.mktemp("sandbox-pay") / "ledger.sqlite3"),
        "SANDBOX_PAY_DELAY_SECONDS": 0.5,
    }


# The real payment provider and invoice platform, as production must configure them.
REAL_BILLING = {"PAYMENT_PROVIDER": "alipay", "ALIPAY_APP_ID": "2021000123456789",
                "ALIPAY_PRIVATE_KEY": "app key", "ALIPAY_PUBLIC_KEY": "alipay key",
                "ALIPAY_SELLER_ID": "2088102177846880",
                "INVOICE_ISSUER": "tax_platform", "INVOICE_PLATFORM_URL": "https://invoice.example/api",
                "INVOICE_PLATFORM_KEY": "platform key"}
# What production must configure besides the secrets: a real implementation of every service (made
# on first use only, so no test reaches these addresses).
PRODUCTION = {"APP_ENV": "production", **REAL_BILLING,
              "SMS_GATEWAY": "http", "SMS_HTTP_URL": "https://sms.example/send", "SMS_HTTP_KEY": "sms key",
              "MAIL_GATEWAY": "smtp", "SMTP_HOST": "smtp.example", "SMTP_PORT": 587, "SMTP_STARTTLS": True,
              "BANK_TRANSFER_GATEWAY": "http", "BANK_TRANSFER_HTTP_URL": "https://bank.example/transfers",
              "BANK_TRANSFER_HTTP_KEY": "bank key",
              "IDENTITY_VERIFIER": "http", "IDENTITY_HTTP_URL": "https://idv.example/verify",
              "IDENTITY_HTTP_KEY": "identity key",
              "COURIER_TRACKING": "kuaidi100", "KUAIDI100_CUSTOMER": "customer id", "KUAIDI100_KEY": "kuaidi100 key",
              "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:9/0"}  # shared by the web processes; never reached


def pytest_addoption(parser):
    # Here rather than in tests/browser/conftest.py: only this conftest is read before the
    # command line, whichever tests are asked for.
    parser.addoption("--update-screenshots", action="store_true",
                     help="browser tests save their screenshots into docs/screenshots (shown in the README) "
                          "instead of a temporary folder")


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL (`make test`'s second pass) only the tests that reach a database run: those that
    ask for `database_url`, themselves or through a fixture (`app`, `db_session`, `client`, `ca_app`,
    `own_app`'s callers...). The others (validators, the agent, PDFs, the signers) ran in the SQLite
    pass and would only repeat themselves."""
    if not POSTGRESQL_URL:
        return
    database_free = [item for item in items if "database_url" not in getattr(item, "fixturenames", ())]
    if database_free:
        config.hook.pytest_deselected(items=database_free)
        left_out = set(database_free)
        items[:] = [item for item in items if item not in left_out]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    return POSTGRESQL_URL or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def migrated_app(tmp_path_factory, database_url: str):
    """An app on a migrated database holding the demo catalogue."""
    app = create_app(config_for_tests(tmp_path_factory, database_url))
    with app.app_context():
        upgrade()
        for _ in demo.load_catalogue(db.session):
            pass
        db.session.commit()
    return app


@pytest.fixture(scope="session")
def app(tmp_path_factory, database_url):
    app = migrated_app(tmp_path_factory, database_url)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def make_app(tmp_path_factory, database_url):
    """Another app on the test database, with config overrides; its engine is closed after."""
    made = []

    def make(**overrides):
        made.append(create_app({**config_for_tests(tmp_path_factory, database_url), **overrides}))
        return made[-1]

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def rate_limited_app(make_app):
    yield make_app(RATELIMIT_ENABLED=True)
    make_app()  # one Limiter serves every app: switch it off again, with fresh counters, for the other tests


@contextmanager
def rolled_back_session(app):
    """`app`'s session for one test: every commit inside only releases a savepoint; all is undone
    afterwards. No app context stays pushed: each request gets its own, as in production
    (Flask-Login caches the user in `g`)."""
    with app.app_context():
        connection = db.engine.connect()
    outer = connection.begin()
    original = db.session
    db.session = scoped_session(
        sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    )
    try:
        yield db.session
    finally:
        db.session.remove()
        db.session = original
        outer.rollback()
        connection.close()


@pytest.fixture
def db_session(app):
    with rolled_back_session(app) as session:
        yield session


@pytest.fixture
def worker_round(app):
    """What a worker does in a round, done now (factories.worker_round)."""
    from tests import factories  # it imports this module

    return lambda: factories.worker_round(app)


@pytest.fixture
def client(app, db_session):
    return app.test_client()


@pytest.fixture
def in_app(app):
    """The test runs in the app's context, as requests and commands do: operations that queue a
    message render its template with the app's settings (notifications.messages). Left only when
    the test is over: leaving an app context closes the test's session."""
    with app.app_context():
        yield


@pytest.fixture
def runner(app, db_session):
    return app.test_cli_runner()


def image_bytes(fmt: str = "PNG", size=(64, 48), color=(200, 30, 30), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt, **save)
    return out.getvalue()


@pytest.fixture
def latest_sms(app, db_session):
    """The text of the latest SMS sent to a phone, as the CLI would print it."""
    from notifications.outbox import latest_for

    def read(phone: str) -> str:
        message = latest_for(db_session, phone)
        assert message is not None, f"no SMS for {phone}"
        return message.text

    return read


def sms_code_in(text: str) -> str:
    return re.search(r"验证码\s*(\d{6})", text).group(1)


@pytest.fixture
def form_data():
    """A complete, valid application as the browser form posts it."""
    from public.openapi import APPLICATION_EXAMPLE

    data = {k: v for k, v in APPLICATION_EXAMPLE.items() if k != "consent"}
    data["consent"] = "y"
    return data


def solve_captcha(client, page_url: str) -> dict[str, str]:
    """The captcha fields of the form on `page_url` as a browser posts them, answered by the test
    hook: the page's token, its picture fetched, and the picture's answer."""
    page = client.get(page_url).get_data(as_text=True)
    token = re.search(r'name="captcha_token" value="([^"]+)"', page).group(1)
    assert client.get(f"/captcha.png?t={token}").status_code == 200
    return {"captcha_token": token, "captcha": client.get(f"/_test/captcha?t={token}").get_data(as_text=True)}


@pytest.fixture
def apply(client, form_data):
    """Fill the public form as a browser would (captcha via the test hook); returns the response."""

    def submit(channel: str = "direct", url: str | None = None, **overrides):
        url = url or f"/c/{channel}/apply"
        data = {**form_data, **solve_captcha(client, url), **overrides}
        data = {k: v for k, v in data.items() if v is not None}
        return client.post(url, data=data)

    return submit


@pytest.fixture
def order_number(apply):
    response = apply()
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"].rsplit("/", 1)[-1]


MATERIAL_KINDS = ("business_licence", "agent_id_front", "agent_id_back",
                  "eseal_sample_form", "authorisation_letter")


@pytest.fixture
def upload_all(client):
    def upload(number: str):
        data = {kind: (io.BytesIO(image_bytes()), f"{kind}.png") for kind in MATERIAL_KINDS}
        response = client.post(f"/apply/{number}/materials", data=data,
                               content_type="multipart/form-data")
        assert response.status_code == 302, response.get_data(as_text=True)[:800]
        return response

    return upload


# --- staff sign-in (web.auth) ----------------------------------------------------------

STAFF_PASSWORD = "correct-horse-battery-staple"


def totp_now(staff: Staff) -> str:
    """The code the staff member's authenticator app shows right now."""
    return pyotp.TOTP(staff.totp_secret).now()


def add_staff(session, role: StaffRole | str, username: str | None = None, *, password: str = STAFF_PASSWORD,
              enrolled: bool = True, **values) -> Staff:
    """A staff member (flushed, not committed): active, with a confirmed TOTP secret unless enrolled=False;
    other column values may be given."""
    role = StaffRole(role)
    username = username or f"{role.value}-{os.urandom(3).hex()}"
    values = {"display_name": f"Test {username}", "email": f"{username}@ca.example.cn", "active": True,
              "totp_secret": pyotp.random_base32() if enrolled else None,
              "totp_confirmed_at": utcnow() if enrolled else None, **values}
    staff = Staff(username=username, role=role, password_hash=staff_accounts.hash_password(password), **values)
    session.add(staff)
    session.flush()
    return staff


def sign_in(client, staff: Staff, password: str = STAFF_PASSWORD, code: str | None = None):
    """Password, then TOTP code, through the real pages; returns the last response."""
    # Read before the first request: its commit expires `staff` and its teardown detaches it.
    username, code = staff.username, code or totp_now(staff)
    response = client.post("/console/login", data={"username": username, "password": password})
    assert response.status_code == 302 and response.headers["Location"].endswith("/console/login/totp"), (
        response.status_code, response.get_data(as_text=True)[:500])
    return client.post("/console/login/totp", data={"code": code})


@pytest.fixture
def login_as(client, db_session):
    """login_as(role, username=None) -> Staff: a new active staff member with a confirmed TOTP secret,
    signed in on `client` through the login and TOTP pages. The Staff returned is detached (a snapshot):
    re-read it with db_session.get(Staff, staff.id) for current values."""

    def login(role: StaffRole | str, username: str | None = None) -> Staff:
        client.post("/console/logout")
        staff = add_staff(db_session, role, username)
        db_session.commit()
        staff_id = staff.id
        response = sign_in(client, staff)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        staff = db_session.get(Staff, staff_id)
        db_session.expunge(staff)
        return staff

    return login


# --- external services (web.services) ------------------------------------------------------------

@pytest.fixture
def replace_service(app):
    """replace_service(Interface, service) -> service: the app finds `service` for `Interface`
    until the test ends, then what it found before."""
    with contextlib.ExitStack() as replaced:
        yield lambda interface, service: replaced.enter_context(services.service_replaced(app, interface, service))


@pytest.fixture
def billing_services(app, tmp_path, replace_service):
    """The billing services the app's views and commands get, with a sandbox provider and issuer
    of this test's own: order numbers repeat from test to test (the database rolls back), the
    provider's books would not. (Built without an app context: leaving one would close the test's
    session, dropping what other fixtures flushed.)"""
    import shutil

    from billing.issuers import InvoiceIssuer, SandboxIssuer
    from billing.payments.interfaces import PaymentProvider
    from billing.payments.sandbox import SandboxProvider
    from billing.services import BillingServices
    from documents.storage import DocumentStore
    from documents.storage_backends import filesystem_store

    shared_keys = os.path.dirname(app.config["SANDBOX_PAY_LEDGER"])
    SandboxProvider(app.config["SANDBOX_PAY_LEDGER"])  # makes the sandbox's RSA key once per session
    ledger = tmp_path / "sandbox-pay" / "ledger.sqlite3"
    ledger.parent.mkdir()
    for name in ("sandbox-private.pem", "sandbox-public.pem"):
        shutil.copy(os.path.join(shared_keys, name), ledger.parent / name)
    provider = replace_service(PaymentProvider,
                               SandboxProvider(ledger, delay_seconds=app.config["SANDBOX_PAY_DELAY_SECONDS"]))
    issuer = replace_service(InvoiceIssuer, SandboxIssuer(app.config["INVOICE_VERIFY_URL"]))
    store = replace_service(DocumentStore, filesystem_store(app.config["UPLOAD_FOLDER"],
                                                            base64.b64decode(STORAGE_KEY)))
    return BillingServices.from_config(app.config, provider, issuer, store)


# --- an S3-compatible server (tests/s3.py) -------------------------------------------------------

@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server, one per test run; each test makes a bucket of its own (tests.s3.new_bucket)."""
    from tests.s3 import s3_server

    with s3_server() as endpoint:
        yield endpoint


# --- SoftHSM2 (tests/softhsm.py) ---------------------------------------------------------------

@pytest.fixture(scope="session")
def softhsm(tmp_path_factory):
    """The test run's SoftHSM2 token store (SOFTHSM2_CONF exported for the test process): every
    test that uses a token comes through here, since the module reads the variable only once."""
    from tests.softhsm import token_store

    with token_store(tmp_path_factory.mktemp("softhsm")) as store:
        yield store
