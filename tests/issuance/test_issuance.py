"""Issuing through the live signing service, with key files and on a token: the certificate says
what the product's profile and the reviewed data say, its chain verifies with openssl, and a job
asked again gets the same certificate, never a second one."""
from __future__ import annotations

import base64
import datetime as dt
import subprocess
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select

from issuance.interfaces import PolicyRefused
from models import AuditEntry, Certificate, CertificateStatus, Order, Product, RevocationReason, audit_chain
from tests.databases import at_once
from tests.issuance.conftest import CITY, ORGANIZATION_IDENTIFIER, PROVINCE, PUBLIC_URL
from web.extensions import db


def job() -> str:
    return f"job-{uuid.uuid4()}"


@pytest.fixture
def issued(signing, committed_order, request_for):
    number = committed_order()
    return number, signing.issue(job(), number, request_for(number))


def test_the_certificate_follows_the_profile(issued, ca_app):
    number, answer = issued
    cert = x509.load_pem_x509_certificate(answer.certificate_pem.encode())
    issuing = x509.load_pem_x509_certificate(answer.chain_pem[0].encode())
    with ca_app.app_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        name, credit_code = order.organisation.name, order.organisation.credit_code
        product = db.session.get(Product, order.product_id)
        profile = product.profile

    subject = cert.subject
    assert [attribute.oid for attribute in subject] == [
        NameOID.COUNTRY_NAME, NameOID.STATE_OR_PROVINCE_NAME, NameOID.LOCALITY_NAME, NameOID.ORGANIZATION_NAME,
        ORGANIZATION_IDENTIFIER, NameOID.COMMON_NAME]
    assert [attribute.value for attribute in subject] == ["CN", PROVINCE, CITY, name, f"NTRCN-{credit_code}", name]
    assert cert.issuer == issuing.subject

    extensions = cert.extensions
    basic = extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca is False
    usage = extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not (usage.value.key_encipherment or usage.value.key_cert_sign or usage.value.crl_sign)
    assert list(extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION]
    policies = extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [policy.policy_identifier.dotted_string for policy in policies] == [profile.policy_oid]
    issuer_serial = f"{issuing.serial_number:032x}"
    points = extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [point.full_name[0].value for point in points] == [f"{PUBLIC_URL}/crl/{issuer_serial}.crl"]
    access = {(d.access_method, d.access_location.value)
              for d in extensions.get_extension_for_class(x509.AuthorityInformationAccess).value}
    assert access == {(x509.AuthorityInformationAccessOID.OCSP, f"{PUBLIC_URL}/ocsp"),
                      (x509.AuthorityInformationAccessOID.CA_ISSUERS, f"{PUBLIC_URL}/ca/{issuer_serial}.crt")}
    assert (extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            == x509.SubjectKeyIdentifier.from_public_key(cert.public_key()))
    assert (extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
            == issuing.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest)

    assert cert.not_valid_before_utc.microsecond == 0
    assert cert.not_valid_after_utc == cert.not_valid_before_utc.replace(year=cert.not_valid_before_utc.year + 1)
    assert abs(cert.not_valid_before_utc - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    assert answer.serial_number == f"{cert.serial_number:032x}" and len(answer.serial_number) == 32
    assert (answer.not_before, answer.not_after) == (cert.not_valid_before_utc, cert.not_valid_after_utc)


def test_the_chain_verifies_with_openssl(issued, tmp_path):
    _number, answer = issued
    (tmp_path / "cert.pem").write_text(answer.certificate_pem)
    issuing_pem, root_pem = answer.chain_pem
    (tmp_path / "issuing.pem").write_text(issuing_pem)
    (tmp_path / "root.pem").write_text(root_pem)
    run = subprocess.run(["openssl", "verify", "-x509_strict", "-policy_check", "-CAfile", tmp_path / "root.pem",
                          "-untrusted", tmp_path / "issuing.pem", tmp_path / "cert.pem"],
                         capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip().endswith(": OK"), run.stdout + run.stderr


def test_the_register_and_the_audit_log_record_it(issued, ca_app):
    number, answer = issued
    with ca_app.app_context():
        row = db.session.scalars(select(Certificate).where(Certificate.serial_number == answer.serial_number)).one()
        entry = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "certificate.issue", AuditEntry.target == f"certificate:{answer.serial_number}")).one()
        assert row.status is CertificateStatus.VALID and row.key_type == "ec_p256"
        assert row.der == x509.load_pem_x509_certificate(answer.certificate_pem.encode()).public_bytes(Encoding.DER)
        assert row.subject.startswith("CN=") and row.subject.endswith(",C=CN")
        assert entry.order.number == number and entry.actor == "signing-service" and entry.entry_hash
        assert entry.after["job_id"] == row.job_id and entry.after["csr_sha256"] == row.csr_sha256


def test_a_job_asked_again_gets_the_same_certificate(signing, committed_order, request_for):
    number, the_job = committed_order(), job()
    request = request_for(number)

    first = signing.issue(the_job, number, request)
    again = signing.issue(the_job, number, request)

    assert again == first
    with pytest.raises(PolicyRefused) as refused:  # the same job with another key is not a replay
        signing.issue(the_job, number, request_for(number))
    assert refused.value.rule == "job_conflict"


def test_a_second_job_for_the_order_is_refused(signing, committed_order, request_for):
    number = committed_order()
    signing.issue(job(), number, request_for(number))
    with pytest.raises(PolicyRefused) as refused:
        signing.issue(job(), number, request_for(number))
    assert refused.value.rule == "order_has_certificate"


def test_two_jobs_at_once_for_one_order_make_one_certificate(signing, committed_order, request_for, ca_app):
    number = committed_order()
    requests = [request_for(number), request_for(number)]

    def ask(request: str):
        try:
            return signing.issue(job(), number, request)
        except PolicyRefused as refused:
            return refused.rule

    answers = at_once([lambda r=r: ask(r) for r in requests])

    assert sorted(type(a).__name__ for a in answers) == ["Issued", "str"]
    assert "order_has_certificate" in answers
    with ca_app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Certificate).join(
            Order, Certificate.order_id == Order.id).where(Order.number == number)) == 1


@pytest.mark.parametrize("signer_kind", ["keyfile"], indirect=True)
def test_an_rsa_request_gets_an_rsa_certificate(signing, committed_order, request_for):
    number = committed_order()
    answer = signing.issue(job(), number, request_for(number, rsa.generate_private_key(65537, 2048)))
    assert isinstance(x509.load_pem_x509_certificate(answer.certificate_pem.encode()).public_key(), rsa.RSAPublicKey)


def test_a_job_whose_certificate_was_revoked_gets_nothing_again(signing, committed_order, request_for, officers):
    number, the_job = committed_order(), job()
    request = request_for(number, ec.generate_private_key(ec.SECP256R1()))
    issued = signing.issue(the_job, number, request)
    signing.revoke(issued.serial_number, RevocationReason.KEY_COMPROMISE, requested_by=officers["senior_reviewer"],
                   confirmed_by=officers["admin"])

    with pytest.raises(PolicyRefused) as refused:
        signing.issue(the_job, number, request)
    assert refused.value.rule == "job_certificate_revoked"
    # A new job, once the broken certificate is revoked, may have the order's certificate made again.
    assert signing.issue(job(), number, request_for(number)).serial_number != issued.serial_number


def test_the_signing_services_entries_chain_with_the_web_apps(issued, ca_app, signing, officers):
    _number, answer = issued
    signing.revoke(answer.serial_number, RevocationReason.SUPERSEDED, requested_by=officers["admin"],
                   confirmed_by=officers["senior_reviewer"])
    with ca_app.app_context():
        key = base64.b64decode(ca_app.config["AUDIT_SEAL_KEY"])
        audit_chain.seal_head(db.session, key)
        assert [str(problem) for problem in audit_chain.verify(db.session, key)] == []
        db.session.rollback()
