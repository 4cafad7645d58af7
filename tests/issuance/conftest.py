"""A CA per signer (key files, and a SoftHSM2 token), each on a database of its own with the
ceremony held and committed, and its signing service served from a thread: the tests that take
`ca_app` run once per signer, the same suite for both.

Two ways in: `ca_session` (a session rolled back after the test, for the operations called
directly) and `signing` (the HTTP client against the live signing service, for which orders are
committed: the service reads them over its own connection).
"""
from __future__ import annotations

import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from issuance import ceremony, store
from issuance.authority import Keyring
from issuance.client import HttpSigningService
from issuance.settings import CaSettings
from issuance.signing_app import create_signing_app
from models import Order, OrderStatus, StaffRole
from tests import factories
from tests.databases import own_database
from tests.serving import served
from tests.softhsm import MODULE, USER_PIN
from web.extensions import db

SIGNERS = ("keyfile", "pkcs11")
PUBLIC_URL = "http://ca.example.test"
# The subject the example application (public.openapi.APPLICATION_EXAMPLE) makes: Zhengzhou, Henan.
PROVINCE, CITY = "河南省", "郑州市"
ORGANIZATION_IDENTIFIER = x509.ObjectIdentifier("2.5.4.97")


@pytest.fixture(scope="session", params=SIGNERS)
def signer_kind(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def ca_config(request, signer_kind, tmp_path_factory) -> dict:
    config = {"CA_SIGNER": signer_kind, "CA_KEY_FOLDER": str(tmp_path_factory.mktemp("ca-keys")),
              "PKCS11_MODULE": MODULE, "CA_TOKEN_LABEL": "", "CA_TOKEN_PIN": USER_PIN, "CA_PUBLIC_URL": PUBLIC_URL}
    if signer_kind == "pkcs11":
        config["CA_TOKEN_LABEL"] = request.getfixturevalue("softhsm").init_token(f"ca-{uuid.uuid4().hex[:8]}")
    return config


@pytest.fixture(scope="session")
def ca_app(ca_config, tmp_path_factory, database_url):
    """A web app on a database of its own, its CA made by the ceremony (committed)."""
    from tests.conftest import migrated_app

    with own_database(tmp_path_factory.mktemp("ca-db"), database_url) as url:
        app = migrated_app(tmp_path_factory, url)
        app.config.update(ca_config)
        with app.app_context():
            officers = [factories.staff(db.session, StaffRole.ADMIN, "ca-admin"),
                        factories.staff(db.session, StaffRole.SENIOR_REVIEWER, "ca-senior")]
            ceremony.hold_ceremony(db.session, CaSettings.from_config(app.config), officers)
            db.session.commit()
        try:
            yield app
        finally:
            with app.app_context():
                db.engine.dispose()


@pytest.fixture(scope="session")
def keyring(ca_app) -> Keyring:
    return Keyring(CaSettings.from_config(ca_app.config))


@pytest.fixture
def ca_session(ca_app):
    """The CA database's session for one test, everything undone afterwards (as db_session)."""
    from tests.conftest import rolled_back_session

    with rolled_back_session(ca_app) as session:
        yield session


@pytest.fixture(scope="session")
def signing_url(ca_app):
    """The signing service of `ca_app`'s CA, served on 127.0.0.1 from a thread."""
    sessions = store.make_sessions(ca_app.config)
    try:
        with served(create_signing_app(ca_app.config, sessions)) as url:
            yield url
    finally:
        sessions.kw["bind"].dispose()


@pytest.fixture
def signing(signing_url, ca_app) -> HttpSigningService:
    return HttpSigningService(signing_url, ca_app.config["SIGNING_SERVICE_KEY"])


# --- orders, requests, officers ----------------------------------------------------------------


def approve(session, order: Order) -> Order:
    if order.status is not OrderStatus.APPROVED:  # a renewal needs no review: approved once paid
        order.move_to(OrderStatus.IN_REVIEW, "staff:test")
        order.move_to(OrderStatus.APPROVED, "staff:test")
    session.flush()
    return order


def approved_order(session, upload_folder: str, **overrides) -> Order:
    """An order paid (with its payment) and approved, flushed."""
    return approve(session, factories.payment(session, upload_folder, **overrides).order)


@pytest.fixture
def committed_order(ca_app):
    """committed_order(**overrides) -> order number: an approved, paid order committed to the CA's
    database, where the live signing service sees it."""
    def make(**overrides) -> str:
        with ca_app.app_context():
            order = approved_order(db.session, ca_app.config["UPLOAD_FOLDER"], **overrides)
            number = order.number
            db.session.commit()
        return number

    return make


def subject_of(session, order_number: str) -> list[x509.NameAttribute]:
    """The subject the reviewed data of the order makes, as a station would ask for it."""
    order = session.scalars(select(Order).where(Order.number == order_number)).one()
    organisation = order.organisation
    return [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, PROVINCE),
            x509.NameAttribute(NameOID.LOCALITY_NAME, CITY),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation.name),
            x509.NameAttribute(ORGANIZATION_IDENTIFIER, f"NTRCN-{organisation.credit_code}"),
            x509.NameAttribute(NameOID.COMMON_NAME, organisation.name)]


def csr_pem(subject: list[x509.NameAttribute], key=None) -> str:
    """A PKCS#10 request for `subject`, signed by `key` (a new P-256 key by default)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(subject)).sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture
def request_for(ca_app):
    """request_for(order_number, key=None) -> the PEM of a request with the order's reviewed subject."""
    def make(order_number: str, key=None) -> str:
        with ca_app.app_context():
            return csr_pem(subject_of(db.session, order_number), key)

    return make


@pytest.fixture
def officers(ca_app):
    """Two committed officers (a senior reviewer and an admin) and a reviewer: their usernames."""
    names = {}
    with ca_app.app_context():
        for role in (StaffRole.SENIOR_REVIEWER, StaffRole.ADMIN, StaffRole.REVIEWER):
            names[role] = factories.staff(db.session, role, f"{role.value}-{uuid.uuid4().hex[:6]}").username
        db.session.commit()
    return names

