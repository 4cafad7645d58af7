"""The certificate register in the console, and revocation under dual control through the live
signing service: one senior reviewer asks, the same one cannot confirm, a second one does, and the
certificate is on the next CRL."""
from __future__ import annotations

import re
import uuid

import pytest
from cryptography import x509

from issuance.interfaces import SigningService
from models import Certificate, Order, SmsMessage, StaffRole, Token, TokenState
from tests.conftest import add_staff, sign_in
from tests.issuance.test_revocation import fetch, served
from tests.review.approvals import hold
from web.extensions import db
from web.services import service_replaced


@pytest.fixture
def console(ca_app, signing):
    """console(role) -> a test client of the CA's web app signed in as a new staff member of `role`,
    the app asking the live signing service."""
    with service_replaced(ca_app, SigningService, signing):
        def sign_in_as(role: StaffRole):
            with ca_app.app_context():
                staff = add_staff(db.session, role, f"{role.value}-{uuid.uuid4().hex[:6]}")
                db.session.commit()
                db.session.refresh(staff)
                db.session.expunge(staff)
            client = ca_app.test_client()
            assert sign_in(client, staff).status_code == 302
            return client

        yield sign_in_as


@pytest.fixture
def certificate(signing, committed_order, request_for, ca_app):
    """A certificate just issued: its serial, order number and the organisation's credit code."""
    number = committed_order()
    issued = signing.issue(f"job-{uuid.uuid4()}", number, request_for(number))
    with ca_app.app_context():
        order = db.session.scalars(db.select(Order).where(Order.number == number)).one()
        return issued.serial_number, number, order.organisation.credit_code, order.organisation.name


def _serials(page: str) -> list[str]:
    return re.findall(r'<tr data-serial="([0-9a-f]+)"', page)


def test_the_register_finds_a_certificate_by_serial_credit_code_organisation_and_order(console, certificate):
    serial, number, credit_code, name = certificate
    client = console(StaffRole.FULFILLMENT)
    for text in (serial, serial.upper(), credit_code, number, name[2:6]):
        page = client.get("/console/certificates", query_string={"q": text}).get_data(as_text=True)
        assert serial in _serials(page), text
    assert serial in _serials(client.get("/console/certificates?status=valid").get_data(as_text=True))
    assert serial not in _serials(client.get("/console/certificates?status=revoked").get_data(as_text=True))
    page = client.get(f"/console/certificates/{serial}").get_data(as_text=True)
    assert number in page and 'id="request-revocation"' not in page  # looking, not revoking


def test_a_revocation_needs_two_senior_reviewers_and_lands_on_the_crl(console, certificate, signing_url, ca_app):
    serial = certificate[0]
    first, second = console(StaffRole.SENIOR_REVIEWER), console(StaffRole.SENIOR_REVIEWER)
    asked = first.post(f"/console/certificates/{serial}/revocation", data={"reason": "1", "note": "钥匙丢失"},
                       follow_redirects=True).get_data(as_text=True)
    assert 'id="revocation-request"' in asked and "钥匙丢失" in asked
    alone = first.post(f"/console/certificates/{serial}/revocation/confirm", follow_redirects=True)
    assert "须由另一位高级审核员确认" in alone.get_data(as_text=True)
    with ca_app.app_context():
        assert db.session.scalars(db.select(Certificate).where(Certificate.serial_number == serial)).one() \
            .status.value == "valid"
    done = second.post(f"/console/certificates/{serial}/revocation/confirm", follow_redirects=True)
    page = done.get_data(as_text=True)
    assert 'id="revocation"' in page and "已吊销" in page
    with ca_app.app_context():
        revoked = db.session.scalars(db.select(Certificate).where(Certificate.serial_number == serial)).one()
        assert (revoked.status.value, revoked.revocation_reason) == ("revoked", 1)
        assert revoked.revocation_requested_by != revoked.revoked_by
        issuing_crl_url = x509.load_der_x509_certificate(revoked.der).extensions.get_extension_for_class(
            x509.CRLDistributionPoints).value[0].full_name[0].value
    status, _, der = fetch(served(signing_url, issuing_crl_url))
    entry = x509.load_der_x509_crl(der).get_revoked_certificate_by_serial_number(int(serial, 16))
    assert status == 200 and entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise
    listed = first.get("/console/certificates?status=revoked").get_data(as_text=True)
    assert serial in _serials(listed)


def test_a_request_can_be_withdrawn_before_it_is_confirmed(console, certificate, ca_app):
    serial = certificate[0]
    senior = console(StaffRole.SENIOR_REVIEWER)
    senior.post(f"/console/certificates/{serial}/revocation", data={"reason": "5"})
    senior.post(f"/console/certificates/{serial}/revocation/withdraw")
    page = senior.get(f"/console/certificates/{serial}").get_data(as_text=True)
    assert 'id="request-revocation"' in page and 'id="revocation-request"' not in page
    with ca_app.app_context():
        kept = db.session.scalars(db.select(Certificate).where(Certificate.serial_number == serial)).one()
        assert (kept.status.value, kept.revocation_requested_by) == ("valid", None)


def test_a_confirmed_revocation_revokes_the_key_and_tells_the_applicant(console, certificate, ca_app):
    serial = certificate[0]
    with ca_app.app_context():
        held = db.session.scalars(db.select(Certificate).where(Certificate.serial_number == serial)).one()
        key = hold(db.session, held, TokenState.ACTIVE).serial
        db.session.commit()
    first, second = console(StaffRole.SENIOR_REVIEWER), console(StaffRole.SENIOR_REVIEWER)
    first.post(f"/console/certificates/{serial}/revocation", data={"reason": "5", "note": "单位注销"})
    second.post(f"/console/certificates/{serial}/revocation/confirm")
    again = second.post(f"/console/certificates/{serial}/revocation/confirm", follow_redirects=True)
    assert "已吊销" in again.get_data(as_text=True)
    with ca_app.app_context():
        revoked = db.session.scalars(db.select(Certificate).where(Certificate.serial_number == serial)).one()
        order = db.session.get(Order, revoked.order_id)
        assert db.session.scalars(db.select(Token.state).where(Token.serial == key)).one() is TokenState.REVOKED
        told = db.session.scalars(db.select(SmsMessage).where(SmsMessage.order_id == order.id,
                                                              SmsMessage.template == "certificate_revoked")).all()
        assert [m.phone for m in told] == [order.agent.phone], "told once, though confirmed twice"
        assert serial in told[0].text and "寄回" in told[0].text
