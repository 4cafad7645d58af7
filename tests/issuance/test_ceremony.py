"""The key ceremony, with key files and on a token: the root signs the issuing CA, which signs its
OCSP responder and its first CRL; two officers hold it and the audit log names both."""
from __future__ import annotations

import datetime as dt
import subprocess

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID
from sqlalchemy import select

from issuance import ceremony, operations
from issuance.settings import CaSettings
from models import AuditEntry, CaCertificate, CaRole, Crl, StaffRole
from tests import factories
from tests.softhsm import MODULE


def ca_rows(session) -> dict[CaRole, CaCertificate]:
    return {row.role: row for row in session.scalars(select(CaCertificate).where(CaCertificate.active))}


def loaded(row: CaCertificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(row.der)


def test_the_hierarchy_verifies_with_openssl(ca_session, tmp_path):
    rows = ca_rows(ca_session)
    for role in CaRole:
        (tmp_path / f"{role}.pem").write_bytes(loaded(rows[role]).public_bytes(Encoding.PEM))
    for role in (CaRole.ISSUING, CaRole.OCSP):
        run = subprocess.run(["openssl", "verify", "-x509_strict", "-CAfile", tmp_path / "root.pem", "-untrusted",
                              tmp_path / "issuing.pem", tmp_path / f"{role}.pem"], capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr


def test_the_ca_certificates_say_what_each_may_do(ca_session):
    rows = ca_rows(ca_session)
    root, issuing, responder = (loaded(rows[role]) for role in (CaRole.ROOT, CaRole.ISSUING, CaRole.OCSP))

    assert root.subject == root.issuer and issuing.issuer == root.subject and responder.issuer == issuing.subject
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value == x509.BasicConstraints(True, None)
    basic = issuing.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value == x509.BasicConstraints(ca=True, path_length=0)
    usage = issuing.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign and not usage.value.digital_signature
    assert (issuing.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
            == root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest)

    assert responder.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.OCSP_SIGNING])
    assert responder.extensions.get_extension_for_oid(ExtensionOID.OCSP_NO_CHECK)
    assert responder.not_valid_after_utc - responder.not_valid_before_utc == ceremony.RESPONDER_VALIDITY
    assert root.not_valid_after_utc > issuing.not_valid_after_utc > responder.not_valid_after_utc
    assert len({root.serial_number, issuing.serial_number, responder.serial_number}) == 3
    assert all(cert.serial_number.bit_length() > 100 for cert in (root, issuing, responder))


def test_the_rows_name_the_keys_and_the_first_crl_is_out(ca_session, ca_app, signer_kind):
    rows = ca_rows(ca_session)
    settings = CaSettings.from_config(ca_app.config)
    for row in rows.values():
        assert row.key_ref.startswith({"keyfile": "file:", "pkcs11": f"pkcs11:{settings.token_label}/"}[signer_kind])
        assert row.serial_number == f"{loaded(row).serial_number:032x}"
        assert row.created_by == "staff:ca-admin, staff:ca-senior"
    assert rows[CaRole.ISSUING].issuer_id == rows[CaRole.ROOT].id
    assert rows[CaRole.OCSP].issuer_id == rows[CaRole.ISSUING].id
    first = ca_session.scalars(select(Crl).where(Crl.issuer_id == rows[CaRole.ISSUING].id).order_by(Crl.number)).first()
    assert first.number == 1
    if signer_kind == "pkcs11":
        with pkcs11.lib(MODULE).get_token(token_label=settings.token_label).open(user_pin=settings.token_pin) as token:
            label = rows[CaRole.ISSUING].key_ref.rsplit("/", 1)[1]
            key = token.get_key(pkcs11.ObjectClass.PRIVATE_KEY, label=label)
            assert key[pkcs11.Attribute.SENSITIVE] and not key[pkcs11.Attribute.EXTRACTABLE]
    else:
        assert (settings.key_folder / rows[CaRole.ROOT].key_ref.removeprefix("file:")).stat().st_mode & 0o077 == 0

    entry = ca_session.scalars(select(AuditEntry).where(AuditEntry.action == "ca.ceremony")).one()
    assert entry.actor == "staff:ca-admin"
    assert entry.after["officers"] == ["staff:ca-admin", "staff:ca-senior"]
    assert entry.after["issuing"]["serial"] == rows[CaRole.ISSUING].serial_number and entry.entry_hash


def test_a_second_ceremony_replaces_only_when_asked(ca_session, ca_app, keyring):
    settings = CaSettings.from_config(ca_app.config)
    officers = [factories.staff(ca_session, StaffRole.ADMIN, "officer-a"),
                factories.staff(ca_session, StaffRole.ADMIN, "officer-b")]
    before = ca_rows(ca_session)

    with pytest.raises(ceremony.CeremonyRefused, match="exists already"):
        ceremony.hold_ceremony(ca_session, settings, officers)
    held = ceremony.hold_ceremony(ca_session, settings, officers, replace=True,
                                  now=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))

    assert ca_rows(ca_session) == {CaRole.ROOT: held.root, CaRole.ISSUING: held.issuing, CaRole.OCSP: held.responder}
    assert all(not row.active for row in before.values())  # kept, to verify what they signed
    # The replaced issuing CA's certificates may still be revoked: its CRL goes on being published.
    def newest() -> dict[int, int]:
        return {row.issuer_id: row.number for row in ca_session.scalars(select(Crl).order_by(Crl.number))}

    old, new = before[CaRole.ISSUING].id, held.issuing.id
    numbers = newest()
    published = operations.publish_crl(ca_session, keyring)
    assert newest() == {old: numbers[old] + 1, new: numbers[new] + 1} and published.crl_number == numbers[new] + 1


@pytest.mark.parametrize("signer_kind", ["keyfile"], indirect=True)
@pytest.mark.parametrize("roles, same, problem", [
    ((StaffRole.ADMIN,), False, "two officers"),
    ((StaffRole.ADMIN, StaffRole.ADMIN), True, "both of the two"),
    ((StaffRole.ADMIN, StaffRole.REVIEWER), False, "no active senior reviewer or admin"),
    ((StaffRole.SENIOR_REVIEWER, StaffRole.FINANCE), False, "no active senior reviewer or admin"),
])
def test_two_different_officers_hold_it(ca_session, ca_app, roles, same, problem):
    officers = [factories.staff(ca_session, role, f"officer-{i}") for i, role in enumerate(roles)]
    if same:
        officers[1] = officers[0]
    with pytest.raises(ceremony.CeremonyRefused, match=problem):
        ceremony.hold_ceremony(ca_session, CaSettings.from_config(ca_app.config), officers, replace=True)


@pytest.mark.parametrize("signer_kind", ["keyfile"], indirect=True)
def test_an_inactive_officer_cannot_hold_it(ca_session, ca_app):
    officers = [factories.staff(ca_session, StaffRole.ADMIN, "officer-a"),
                factories.staff(ca_session, StaffRole.ADMIN, "officer-b")]
    officers[1].active = False
    with pytest.raises(ceremony.CeremonyRefused, match="officer-b"):
        ceremony.hold_ceremony(ca_session, CaSettings.from_config(ca_app.config), officers, replace=True)


def test_a_new_ocsp_responder_replaces_the_old(ca_session, ca_app):
    officers = [factories.staff(ca_session, StaffRole.ADMIN, "officer-a"),
                factories.staff(ca_session, StaffRole.SENIOR_REVIEWER, "officer-b")]
    old = ca_rows(ca_session)[CaRole.OCSP]
    responder = ceremony.make_ocsp_responder(ca_session, CaSettings.from_config(ca_app.config), officers)

    assert not old.active and responder.active and responder.issuer_id == old.issuer_id
    assert loaded(responder).issuer == loaded(ca_rows(ca_session)[CaRole.ISSUING]).subject
    assert ca_session.scalars(select(AuditEntry).where(AuditEntry.action == "ca.ocsp_responder")).one().after[
        "officers"] == ["staff:officer-a", "staff:officer-b"]
