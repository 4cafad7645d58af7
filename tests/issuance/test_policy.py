"""Every policy rule the signing service checks before it signs or revokes, each refusal by its
name (issuance.policy lists them). The rules do not depend on where the key is: key files only."""
from __future__ import annotations

import uuid

import pytest
from asn1crypto import csr as asn1_csr
from asn1crypto import pem
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select, update

from issuance import operations
from issuance.interfaces import PolicyRefused
from models import BusinessType, CaCertificate, Certificate, CertificateStatus, RevocationReason, StaffRole
from tests import factories
from tests.issuance.conftest import approve, approved_order, csr_pem, subject_of

pytestmark = pytest.mark.parametrize("signer_kind", ["keyfile"], indirect=True)


@pytest.fixture
def folder(ca_app) -> str:
    return ca_app.config["UPLOAD_FOLDER"]


def issue(session, keyring, order_number: str, request: str | None = None, job_id: str | None = None):
    return operations.issue_certificate(session, keyring, job_id=job_id or f"job-{uuid.uuid4()}",
                                        order_number=order_number,
                                        csr_pem=request or csr_pem(subject_of(session, order_number)))


def refusal(*args, **kwargs) -> str:
    with pytest.raises(PolicyRefused) as refused:
        issue(*args, **kwargs)
    assert refused.value.message
    return refused.value.rule


def test_a_request_that_is_none(ca_session, keyring, folder):
    order = approved_order(ca_session, folder)
    assert refusal(ca_session, keyring, order.number, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n") == "csr_invalid"


def test_a_request_not_signed_by_its_key(ca_session, keyring, folder):
    order = approved_order(ca_session, folder)
    _, _, der = pem.unarmor(csr_pem(subject_of(ca_session, order.number)).encode())
    request = asn1_csr.CertificationRequest.load(der)
    signature = bytearray(request["signature"].native)
    signature[-1] ^= 0x01
    request["signature"] = bytes(signature)
    forged = pem.armor("CERTIFICATE REQUEST", request.dump()).decode()
    assert refusal(ca_session, keyring, order.number, forged) == "csr_signature_invalid"


def test_an_unknown_order(ca_session, keyring, folder):
    order = approved_order(ca_session, folder)
    assert refusal(ca_session, keyring, "U20991231999999", csr_pem(subject_of(ca_session, order.number))) \
        == "order_unknown"


def test_an_order_that_makes_no_certificate(ca_session, keyring, folder):
    order = approved_order(ca_session, folder, business_type=BusinessType.REVOCATION)
    assert refusal(ca_session, keyring, order.number) == "business_type_not_issuing"


def test_an_order_not_approved(ca_session, keyring, folder):
    order = factories.payment(ca_session, folder).order
    assert refusal(ca_session, keyring, order.number) == "order_not_approved"


def test_an_order_not_paid(ca_session, keyring, folder):
    order = approve(ca_session, factories.paid_order(ca_session, folder))  # paid, but no payment recorded
    assert refusal(ca_session, keyring, order.number) == "order_not_paid"


def test_an_order_free_of_charge_needs_no_payment(ca_session, keyring, folder):
    order = approve(ca_session, factories.paid_order(ca_session, folder))
    order.price_cents = 0
    assert issue(ca_session, keyring, order.number).serial_number


def test_a_product_without_profile(ca_session, keyring, folder):
    order = approved_order(ca_session, folder)
    order.product.profile.active = False
    assert refusal(ca_session, keyring, order.number) == "product_has_no_profile"


@pytest.mark.parametrize("column, value", [("key_usage", "digital_signatur"), ("extended_key_usage", "client auth"),
                                           ("policy_oid", "cps-2026")])
def test_a_profile_that_cannot_be_encoded(ca_session, keyring, folder, column, value):
    order = approved_order(ca_session, folder)
    setattr(order.product.profile, column, value)
    assert refusal(ca_session, keyring, order.number) == "profile_invalid"


def test_a_key_type_the_profile_does_not_allow(ca_session, keyring, folder):
    order = approved_order(ca_session, folder)
    p384 = csr_pem(subject_of(ca_session, order.number), ec.generate_private_key(ec.SECP384R1()))
    assert refusal(ca_session, keyring, order.number, p384) == "key_type_not_allowed"
    order.product.profile.key_types = "rsa2048"
    assert refusal(ca_session, keyring, order.number) == "key_type_not_allowed"


def test_a_region_we_do_not_know(ca_session, keyring, folder):
    order = approved_order(ca_session, folder)
    request = csr_pem(subject_of(ca_session, order.number))
    order.organisation.region_city = "420100"  # Wuhan, in Hubei, not in Henan
    assert refusal(ca_session, keyring, order.number, request) == "region_unknown"


def test_a_name_longer_than_a_certificate_holds(ca_session, keyring, folder):
    order = approved_order(ca_session, folder)
    request = csr_pem(subject_of(ca_session, order.number))
    order.organisation.name = "很" * 65
    assert refusal(ca_session, keyring, order.number, request) == "name_too_long"


@pytest.mark.parametrize("change", ["organisation", "credit_code", "extra", "missing"])
def test_a_subject_other_than_the_reviewed_one(ca_session, keyring, folder, change):
    order = approved_order(ca_session, folder)
    subject = subject_of(ca_session, order.number)
    if change == "organisation":
        subject[3] = x509.NameAttribute(NameOID.ORGANIZATION_NAME, "另一家公司")
    elif change == "credit_code":
        subject[4] = x509.NameAttribute(subject[4].oid, "NTRCN-91410100MA00000000")
    elif change == "extra":
        subject.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "信息部"))
    else:
        del subject[2]
    assert refusal(ca_session, keyring, order.number, csr_pem(subject)) == "subject_mismatch"


def test_the_subject_attributes_may_come_in_another_order(ca_session, keyring, folder):
    order = approved_order(ca_session, folder)
    issued = issue(ca_session, keyring, order.number, csr_pem(list(reversed(subject_of(ca_session, order.number)))))
    assert x509.load_pem_x509_certificate(issued.certificate_pem.encode()).subject.rdns[0].get_attributes_for_oid(
        NameOID.COUNTRY_NAME)


def test_no_issuing_ca(ca_session, keyring, folder):
    order = approved_order(ca_session, folder)
    ca_session.execute(update(CaCertificate).values(active=False))
    assert refusal(ca_session, keyring, order.number) == "no_issuing_ca"


def test_a_validity_beyond_the_issuing_ca(ca_session, keyring, folder):
    order = approved_order(ca_session, folder)
    order.product.validity_months = 12 * 11
    assert refusal(ca_session, keyring, order.number) == "validity_beyond_ca"


def test_a_job_id_used_for_another_order(ca_session, keyring, folder):
    first, second = approved_order(ca_session, folder), approved_order(ca_session, folder)
    issue(ca_session, keyring, first.number, job_id="job-shared")
    assert refusal(ca_session, keyring, second.number, job_id="job-shared") == "job_conflict"


# --- revoking -------------------------------------------------------------------------------------


@pytest.fixture
def certificate(ca_session, keyring, folder):
    order = approved_order(ca_session, folder)
    return issue(ca_session, keyring, order.number).serial_number


@pytest.fixture
def people(ca_session):
    def person(role, active=True):
        staff = factories.staff(ca_session, role, f"{role}-{uuid.uuid4().hex[:6]}")
        staff.active = active
        return staff.actor
    return {"senior": person(StaffRole.SENIOR_REVIEWER), "admin": person(StaffRole.ADMIN),
            "reviewer": person(StaffRole.REVIEWER), "finance": person(StaffRole.FINANCE),
            "inactive": person(StaffRole.ADMIN, active=False)}


def revocation_refusal(session, keyring, serial, reason=RevocationReason.KEY_COMPROMISE, **who) -> str:
    with pytest.raises(PolicyRefused) as refused:
        operations.revoke_certificate(session, keyring, serial, reason, **who)
    return refused.value.rule


@pytest.mark.parametrize("requested, confirmed, rule", [
    ("senior", "senior", "dual_control_same_person"),
    ("senior", "reviewer", "officer_not_authorised"),
    ("finance", "admin", "officer_not_authorised"),
    ("senior", "inactive", "officer_not_authorised"),
    ("senior", "staff:nobody", "officer_not_authorised"),
])
def test_revoking_needs_two_different_officers(ca_session, keyring, certificate, people, requested, confirmed, rule):
    who = {"requested_by": people.get(requested, requested), "confirmed_by": people.get(confirmed, confirmed)}
    assert revocation_refusal(ca_session, keyring, certificate, **who) == rule


def test_revoking_an_unknown_serial(ca_session, keyring, people):
    assert revocation_refusal(ca_session, keyring, "00" * 16, requested_by=people["senior"],
                              confirmed_by=people["admin"]) == "certificate_unknown"


@pytest.mark.parametrize("reason", [6, 8, 10, 11, -1])
def test_revoking_for_a_reason_the_desk_does_not_use(ca_session, keyring, certificate, people, reason):
    assert revocation_refusal(ca_session, keyring, certificate, reason, requested_by=people["senior"],
                              confirmed_by=people["admin"]) == "reason_not_allowed"


def test_revoking_takes_usernames_and_upper_case_serials(ca_session, keyring, certificate, people):
    revoked = operations.revoke_certificate(ca_session, keyring, certificate.upper(), RevocationReason.SUPERSEDED,
                                            requested_by=people["senior"].removeprefix("staff:"),
                                            confirmed_by=people["admin"])
    assert revoked.serial_number == certificate and revoked.reason is RevocationReason.SUPERSEDED
    row = ca_session.scalars(select(Certificate).where(Certificate.serial_number == certificate)).one()
    assert row.status is CertificateStatus.REVOKED
    assert (row.revocation_requested_by, row.revoked_by) == (people["senior"], people["admin"])
