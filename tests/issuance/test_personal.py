"""A personal certificate (个人数字证书) from the signing service, with key files and on a token: its
subject names the holder and, for their ID, the keyed digest (Person.subject_serial), never the ID
number; the same person gets the same serialNumber in each certificate; a request for another subject,
and a renewal, change or revocation naming another person's certificate, are refused."""
from __future__ import annotations

import datetime as dt
import subprocess
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select

from issuance import operations
from issuance.interfaces import PolicyRefused
from models import BusinessType, Certificate, CertificateProfile, Order, OrderStatus, RevocationReason
from models.base import utcnow
from tests.factories import resident_id
from tests.issuance.conftest import approve, approved_order, csr_pem
from tests.issuance.test_succession import issue, keyfile_only, refusal, register
from tests.personal_orders import approved_personal_order, personal_payment
from web.extensions import db

HOLDER = "李晓梅"
ID_NUMBER = resident_id(777)


def personal_subject(name: str, serial: str) -> list[x509.NameAttribute]:
    return [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, serial)]


@pytest.fixture
def committed_personal(ca_app):
    """committed_personal(**overrides) -> (order number, holder's subject_serial): an approved, paid personal
    order committed where the live signing service reads it."""
    def make(**overrides) -> tuple[str, str]:
        with ca_app.app_context():
            order = approved_personal_order(db.session, ca_app.config["UPLOAD_FOLDER"], **overrides)
            answer = order.number, order.holder.subject_serial
            db.session.commit()
        return answer

    return make


def test_a_personal_certificate_names_the_holder_and_never_the_id_number(ca_app, signing, committed_personal,
                                                                         tmp_path):
    number, serial = committed_personal(name=HOLDER, id_number=ID_NUMBER)
    answer = signing.issue(f"job-{uuid.uuid4()}", number, csr_pem(personal_subject(HOLDER, serial)))

    cert = x509.load_pem_x509_certificate(answer.certificate_pem.encode())
    assert [(attribute.oid, attribute.value) for attribute in cert.subject] == [
        (NameOID.COUNTRY_NAME, "CN"), (NameOID.COMMON_NAME, HOLDER), (NameOID.SERIAL_NUMBER, serial)]
    assert serial and ID_NUMBER not in serial
    der = cert.public_bytes(Encoding.DER)
    (tmp_path / "cert.pem").write_text(answer.certificate_pem)
    text = subprocess.run(["openssl", "x509", "-noout", "-text", "-nameopt", "RFC2253,-esc_msb", "-in",
                           tmp_path / "cert.pem"], capture_output=True, text=True, check=True).stdout
    assert HOLDER in text and serial in text
    for digits in (ID_NUMBER, ID_NUMBER[6:14], ID_NUMBER[-8:]):  # the number, the birth date, its tail
        assert digits.encode() not in der and digits.encode("utf-16-be") not in der and digits not in text

    with ca_app.app_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        profile = db.session.get(CertificateProfile, order.product.profile_id)
        row = db.session.scalars(select(Certificate).where(Certificate.serial_number == answer.serial_number)).one()
        assert profile.code == "PERSON-SIGN" and row.profile_id == profile.id
        assert ID_NUMBER not in row.subject and row.subject == f"serialNumber={serial},CN={HOLDER},C=CN"
        policy_oid = profile.policy_oid
    extensions = cert.extensions
    usage = extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not (usage.value.key_encipherment or usage.value.key_cert_sign)
    assert list(extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION]
    assert [p.policy_identifier.dotted_string
            for p in extensions.get_extension_for_class(x509.CertificatePolicies).value] == [policy_oid]
    assert extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_the_same_person_gets_the_same_serial_number_in_each_certificate(signing, committed_personal):
    first_number, first_serial = committed_personal(name=HOLDER, id_number=ID_NUMBER)
    second_number, second_serial = committed_personal(name=HOLDER, id_number=ID_NUMBER)
    _other_number, other_serial = committed_personal(name=HOLDER, id_number=resident_id(778))
    assert first_serial == second_serial != other_serial

    serials = []
    for number in (first_number, second_number):
        answer = signing.issue(f"job-{uuid.uuid4()}", number, csr_pem(personal_subject(HOLDER, first_serial)))
        cert = x509.load_pem_x509_certificate(answer.certificate_pem.encode())
        serials.append(cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value)
    assert serials == [first_serial, first_serial]


@pytest.mark.parametrize("requested", [
    lambda serial: personal_subject("王五", serial),  # another name
    lambda _serial: personal_subject(HOLDER, ID_NUMBER),  # the ID number in clear
    lambda serial: personal_subject(HOLDER, serial)[:2],  # no serialNumber
    lambda serial: [*personal_subject(HOLDER, serial), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "某公司")],
], ids=["name", "id-in-clear", "no-serial", "organisation-added"])
def test_a_request_for_another_subject_is_refused(signing, committed_personal, requested):
    number, serial = committed_personal(name=HOLDER, id_number=ID_NUMBER)
    with pytest.raises(PolicyRefused) as refused:
        signing.issue(f"job-{uuid.uuid4()}", number, csr_pem(requested(serial)))
    assert refused.value.rule == "subject_mismatch"


# --- the earlier certificate is the same person's -------------------------------------------------


@pytest.fixture
def earlier(ca_session, keyring, ca_app) -> Certificate:
    """A personal certificate of HOLDER, issued now (rolled back after)."""
    order = approved_personal_order(ca_session, ca_app.config["UPLOAD_FOLDER"], name=HOLDER, id_number=ID_NUMBER)
    return register(ca_session, issue(ca_session, keyring, order).serial_number)


def naming(session, folder: str, earlier: Certificate, business_type: BusinessType, id_number: str,
           name: str = HOLDER) -> Order:
    """A personal order of the person with `id_number`, paid and approved, naming `earlier`."""
    order = personal_payment(session, folder, name=name, id_number=id_number,
                             business_type=BusinessType.INFO_CHANGE).order
    order.business_type = business_type
    order.previous_order_id, order.certificate_id = earlier.order_id, earlier.id
    order.revocation_reason = int(RevocationReason.KEY_COMPROMISE) if business_type is BusinessType.REPLACEMENT \
        else None
    return approve(session, order)


@keyfile_only
def test_an_information_change_of_the_same_person_is_issued_and_another_s_refused(ca_session, keyring, ca_app,
                                                                                 earlier):
    folder = ca_app.config["UPLOAD_FOLDER"]
    other = naming(ca_session, folder, earlier, BusinessType.INFO_CHANGE, resident_id(778))
    assert refusal(issue, ca_session, keyring, other) == "certificate_of_another_holder"

    renamed = naming(ca_session, folder, earlier, BusinessType.INFO_CHANGE, ID_NUMBER, name="李小梅")
    answer = issue(ca_session, keyring, renamed)
    assert answer.not_after == earlier.not_after
    assert operations.supersede_for_order(ca_session, renamed.number).serial_number == earlier.serial_number


@keyfile_only
def test_a_renewal_of_another_person_s_certificate_is_refused(ca_session, keyring, ca_app, earlier):
    earlier.not_after = utcnow() + dt.timedelta(days=30)
    other = naming(ca_session, ca_app.config["UPLOAD_FOLDER"], earlier, BusinessType.RENEWAL, resident_id(778))
    assert refusal(issue, ca_session, keyring, other) == "certificate_of_another_holder"
    mine = naming(ca_session, ca_app.config["UPLOAD_FOLDER"], earlier, BusinessType.RENEWAL, ID_NUMBER)
    assert issue(ca_session, keyring, mine).not_after > earlier.not_after


@keyfile_only
def test_a_personal_order_naming_a_unit_certificate_is_refused(ca_session, keyring, ca_app):
    unit = register(ca_session, issue(ca_session, keyring, approved_order(ca_session, ca_app.config["UPLOAD_FOLDER"]))
                    .serial_number)
    change = naming(ca_session, ca_app.config["UPLOAD_FOLDER"], unit, BusinessType.INFO_CHANGE, ID_NUMBER)
    assert refusal(issue, ca_session, keyring, change) == "certificate_of_another_holder"


@keyfile_only
def test_a_revocation_for_another_person_s_order_is_refused(ca_session, keyring, ca_app, earlier):
    revocation = naming(ca_session, ca_app.config["UPLOAD_FOLDER"], earlier, BusinessType.REPLACEMENT,
                        resident_id(778))
    assert revocation.status is OrderStatus.APPROVED
    assert refusal(operations.revoke_for_order, ca_session, keyring, revocation.number) == \
        "certificate_of_another_holder"
