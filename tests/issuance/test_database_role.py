"""On PostgreSQL the signing service connects as a role of its own: it issues, revokes, publishes
the CRL and answers OCSP, its audit entries chained with the web app's, but cannot approve an
order, record a payment, read a password hash or rewrite the CA's certificates or the log."""
from __future__ import annotations

import base64
import uuid

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from issuance import database_role, ocsp, operations, store
from issuance.authority import Keyring
from issuance.interfaces import PolicyRefused
from issuance.settings import CaSettings
from models import BusinessType, Certificate, Order, RevocationReason, StaffRole, audit_chain
from tests import factories
from tests.databases import POSTGRESQL_URL
from tests.issuance.conftest import approve as approve_order
from tests.issuance.conftest import approved_order, csr_pem, subject_of
from tests.issuance.test_personal import personal_subject
from tests.personal_orders import approved_personal_order, personal_payment
from tests.review.approvals import after_sale, approve, paid
from web.extensions import db

pytestmark = [
    pytest.mark.skipif(not POSTGRESQL_URL, reason="PostgreSQL only"),
    pytest.mark.parametrize("signer_kind", ["keyfile"], indirect=True),
]


@pytest.fixture
def signer_url(ca_app):
    """The CA database's URL as a new role made by issuance.database_role; the role is dropped after."""
    role = f"signer_{uuid.uuid4().hex[:8]}"
    url = make_url(ca_app.config["SQLALCHEMY_DATABASE_URI"])
    owner = create_engine(url)
    with owner.begin() as connection:
        for statement in database_role.statements(role):
            connection.execute(text(statement))
    try:
        yield url.set(username=role, password=None).render_as_string(hide_password=False)
    finally:
        with owner.begin() as connection:
            connection.execute(text(f'DROP OWNED BY "{role}"'))
            connection.execute(text(f'DROP ROLE "{role}"'))
        owner.dispose()


@pytest.fixture
def order_and_officers(ca_app):
    with ca_app.app_context():
        order = approved_order(db.session, ca_app.config["UPLOAD_FOLDER"])
        senior = factories.staff(db.session, StaffRole.SENIOR_REVIEWER, f"senior-{uuid.uuid4().hex[:6]}")
        admin = factories.staff(db.session, StaffRole.ADMIN, f"admin-{uuid.uuid4().hex[:6]}")
        request = csr_pem(subject_of(db.session, order.number))
        answer = order.number, request, senior.actor, admin.actor
        db.session.commit()
    return answer


def test_the_role_issues_revokes_and_answers(ca_app, signer_url, order_and_officers):
    number, request, senior, admin = order_and_officers
    settings = {**ca_app.config, "SIGNER_DATABASE_URL": signer_url}
    sessions = store.make_sessions(settings)
    keyring = Keyring(CaSettings.from_config(settings))
    try:
        with store.unit_of_work(sessions, writes=True) as session:
            issued = operations.issue_certificate(session, keyring, job_id=f"job-{uuid.uuid4()}",
                                                  order_number=number, csr_pem=request)
        with store.unit_of_work(sessions, writes=True) as session:
            revoked = operations.revoke_certificate(session, keyring, issued.serial_number,
                                                    RevocationReason.KEY_COMPROMISE, requested_by=senior,
                                                    confirmed_by=admin)
        with store.unit_of_work(sessions, writes=True) as session:
            published = operations.publish_crl(session, keyring)
        with store.unit_of_work(sessions, writes=False) as session:
            assert ocsp.respond(session, keyring, b"junk") == ocsp.error("malformed_request")
        assert published.crl_number == revoked.crl_number + 1 and published.revoked_count >= 1
    finally:
        sessions.kw["bind"].dispose()

    with ca_app.app_context():  # as the owner: the chain, the signing service's entries in it, verifies
        key = base64.b64decode(ca_app.config["AUDIT_SEAL_KEY"])
        audit_chain.seal_head(db.session, key)
        assert [str(problem) for problem in audit_chain.verify(db.session, key)] == []
        db.session.rollback()


def test_the_role_revokes_what_an_approved_revocation_order_names(ca_app, signer_url, order_and_officers):
    number, request, _senior, _admin = order_and_officers
    settings = {**ca_app.config, "SIGNER_DATABASE_URL": signer_url}
    sessions = store.make_sessions(settings)
    keyring = Keyring(CaSettings.from_config(settings))
    try:
        with store.unit_of_work(sessions, writes=True) as session:
            issued = operations.issue_certificate(session, keyring, job_id=f"job-{uuid.uuid4()}",
                                                  order_number=number, csr_pem=request)
        with ca_app.app_context():
            certificate = db.session.scalars(select(Certificate).where(
                Certificate.serial_number == issued.serial_number)).one()
            revocation = after_sale(db.session, ca_app.config["UPLOAD_FOLDER"], certificate, BusinessType.REVOCATION,
                                    RevocationReason.CESSATION_OF_OPERATION)
            approve(db.session, revocation, *(factories.staff(db.session, StaffRole.SENIOR_REVIEWER,
                                                              f"senior-{uuid.uuid4().hex[:6]}") for _ in range(2)))
            revocation_number = revocation.number
            db.session.commit()
        with store.unit_of_work(sessions, writes=True) as session:
            revoked = operations.revoke_for_order(session, keyring, revocation_number)
        assert revoked.serial_number == issued.serial_number
        assert revoked.reason is RevocationReason.CESSATION_OF_OPERATION
    finally:
        sessions.kw["bind"].dispose()


def test_the_role_issues_an_information_change_and_supersedes_the_earlier_certificate(ca_app, signer_url,
                                                                                    order_and_officers):
    number, request, _senior, _admin = order_and_officers
    settings = {**ca_app.config, "SIGNER_DATABASE_URL": signer_url}
    sessions = store.make_sessions(settings)
    keyring = Keyring(CaSettings.from_config(settings))
    try:
        with store.unit_of_work(sessions, writes=True) as session:
            earlier = operations.issue_certificate(session, keyring, job_id=f"job-{uuid.uuid4()}",
                                                   order_number=number, csr_pem=request)
        with ca_app.app_context():
            certificate = db.session.scalars(select(Certificate).where(
                Certificate.serial_number == earlier.serial_number)).one()
            change = paid(db.session, after_sale(db.session, ca_app.config["UPLOAD_FOLDER"], certificate,
                                                 BusinessType.INFO_CHANGE))
            approve_order(db.session, change)
            change_number, change_request = change.number, csr_pem(subject_of(db.session, change.number))
            db.session.commit()
        for _ in range(2):  # asked again, answered the same
            with store.unit_of_work(sessions, writes=True) as session:
                issued = operations.issue_certificate(session, keyring, job_id=f"job-{change_number}",
                                                      order_number=change_number, csr_pem=change_request)
            with store.unit_of_work(sessions, writes=True) as session:
                superseded = operations.supersede_for_order(session, change_number)
        assert issued.not_after == earlier.not_after and superseded.serial_number == earlier.serial_number
    finally:
        sessions.kw["bind"].dispose()


def test_the_role_issues_a_personal_certificate_and_its_information_change(ca_app, signer_url):
    """The holder's name and subject_serial are all the role reads of a person (never the ID number)."""
    with ca_app.app_context():
        folder = ca_app.config["UPLOAD_FOLDER"]
        order = approved_personal_order(db.session, folder, name="李晓梅")
        number, serial = order.number, order.holder.subject_serial
        request = csr_pem(personal_subject("李晓梅", serial))
        db.session.commit()
    settings = {**ca_app.config, "SIGNER_DATABASE_URL": signer_url}
    sessions = store.make_sessions(settings)
    keyring = Keyring(CaSettings.from_config(settings))
    try:
        with store.unit_of_work(sessions, writes=True) as session:
            earlier = operations.issue_certificate(session, keyring, job_id=f"job-{uuid.uuid4()}",
                                                   order_number=number, csr_pem=request)
        with ca_app.app_context():
            first = db.session.scalars(select(Order).where(Order.number == number)).one()
            change = approve_order(db.session, personal_payment(
                db.session, folder, name="李小梅", id_number=first.holder.id_number,
                business_type=BusinessType.INFO_CHANGE).order)
            change.previous_order_id, change.certificate_id = first.id, db.session.scalars(
                select(Certificate.id).where(Certificate.serial_number == earlier.serial_number)).one()
            change_number, change_request = change.number, csr_pem(personal_subject("李小梅", serial))
            other = approve_order(db.session, personal_payment(db.session, folder, name="李晓梅",
                                                               business_type=BusinessType.INFO_CHANGE).order)
            other.previous_order_id, other.certificate_id = change.previous_order_id, change.certificate_id
            other_number, other_request = other.number, csr_pem(personal_subject("李晓梅", other.holder.subject_serial))
            db.session.commit()
        with store.unit_of_work(sessions, writes=True) as session, pytest.raises(PolicyRefused) as refused:
            operations.issue_certificate(session, keyring, job_id=f"job-{uuid.uuid4()}", order_number=other_number,
                                         csr_pem=other_request)
        assert refused.value.rule == "certificate_of_another_holder"
        with store.unit_of_work(sessions, writes=True) as session:
            issued = operations.issue_certificate(session, keyring, job_id=f"job-{uuid.uuid4()}",
                                                  order_number=change_number, csr_pem=change_request)
        with store.unit_of_work(sessions, writes=True) as session:
            superseded = operations.supersede_for_order(session, change_number)
        assert issued.not_after == earlier.not_after and superseded.serial_number == earlier.serial_number
    finally:
        sessions.kw["bind"].dispose()


@pytest.mark.parametrize("statement", [
    "UPDATE \"order\" SET status = 'approved'",
    "INSERT INTO payment (order_id, provider, out_trade_no, amount_cents, status, created_at) "
    "VALUES (1, 'sandbox', 'X1', 1, 'paid', now())",
    "SELECT password_hash FROM staff",
    "SELECT totp_secret FROM staff",
    "SELECT account_number FROM \"order\"",
    "SELECT certificate_password FROM \"order\"",
    "UPDATE ca_certificate SET active = false",
    "INSERT INTO certificate_profile (code, name, key_types, key_usage, extended_key_usage, policy_oid, active) "
    "VALUES ('X', 'X', 'ec_p256', 'digital_signature', '', '1.2.3', true)",
    "DELETE FROM certificate",
    "DELETE FROM crl",
    "UPDATE audit_entry SET actor = 'someone else'",
    "DELETE FROM audit_entry",
    "SELECT * FROM person",
    "SELECT id_number FROM person",
    "SELECT id_number_digest FROM person",
    "SELECT phone FROM person",
    "SELECT bank_card_number FROM person",
    "SELECT checklist FROM review_decision",
    "UPDATE review_decision SET decision = 'approve'",
    "UPDATE staff SET active = true",
])
def test_the_role_cannot_write_elsewhere_or_read_secrets(signer_url, statement):
    engine = create_engine(signer_url)
    try:
        with engine.connect() as connection, pytest.raises(ProgrammingError, match="permission denied"):
            connection.execute(text(statement))
    finally:
        engine.dispose()
