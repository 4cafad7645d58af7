"""The key ceremony: the root CA (self-signed, long-lived, offline from then on) signs the issuing
CA, which signs its delegated OCSP responder and its first CRL. Keys are made where CA_SIGNER
says (issuance.signers.new_key): key files in CA_KEY_FOLDER, or generated on the token
CA_TOKEN_LABEL. Two officers (active senior reviewers or admins, never the same person) hold it;
the CA certificates are recorded as CaCertificate rows and the ceremony as an audit entry.

Library functions only: `flask --app wsgi ca ceremony` (backoffice) authenticates the two
officers and calls `hold_ceremony`. Nothing here commits.

Validity: the root for 20 years, the issuing CA for 10 (end-entity certificates of a year or three
fit many times over), the OCSP responder for one year, renewed with `make_ocsp_responder` (the
admins are alerted before it expires): a responder's certificate carries ocsp-nocheck, so nobody
can check whether it was revoked, and a short life bounds that.
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import x509
from sqlalchemy import update
from sqlalchemy.orm import Session

from issuance import authority, certificates, crls, policy, profiles, signers
from issuance.interfaces import PolicyRefused
from issuance.settings import CaSettings
from models import CaCertificate, CaRole, Staff, record
from models.base import utcnow

ROOT_VALIDITY = dt.timedelta(days=20 * 365 + 5)
ISSUING_VALIDITY = dt.timedelta(days=10 * 365 + 2)
RESPONDER_VALIDITY = dt.timedelta(days=365)


class CeremonyRefused(Exception):
    """The ceremony cannot be held as asked (a CA exists already, no two officers, …)."""


@dataclass(frozen=True)
class Ceremony:
    root: CaCertificate
    issuing: CaCertificate
    responder: CaCertificate


def ca_exists(session: Session) -> bool:
    """Whether an active issuing CA exists (make run holds a ceremony only when not)."""
    return authority.active(session, CaRole.ISSUING) is not None


def hold_ceremony(session: Session, settings: CaSettings, officers: Sequence[Staff], *, key_type: str = "ec_p256",
                  replace: bool = False, now: dt.datetime | None = None) -> Ceremony:
    """Make the root, the issuing CA, its OCSP responder and its first CRL; `officers` are the two
    staff members holding the ceremony. With `replace` the CA certificates in use so far stay to
    verify what they signed but are no longer used to sign; without it an existing CA refuses."""
    first, second = _officers(officers)
    if ca_exists(session) and not replace:
        raise CeremonyRefused("an issuing CA exists already: a new one replaces it only when asked to")
    now = certificates.whole_seconds(now or utcnow())
    held_by = _held_by(first, second)
    for role in CaRole:
        session.execute(update(CaCertificate).where(CaCertificate.role == role).values(active=False))

    root_ref, root_signer = signers.new_key(settings, _key_name("root", now), key_type)
    root_name = profiles.ca_subject(f"{settings.organisation} Root CA {now.year}", settings.organisation)
    root_cert = certificates.sign_certificate(
        root_signer, issuer=root_name, subject=root_name, public_key=root_signer.public_key, serial=_serial(),
        not_before=now, not_after=now + ROOT_VALIDITY,
        extensions=certificates.ca_extensions(root_signer.public_key, root_signer.public_key, path_length=None))
    root = _recorded(session, CaRole.ROOT, root_cert, root_ref, None, held_by)

    issuing_ref, issuing_signer = signers.new_key(settings, _key_name("issuing", now), key_type)
    issuing_cert = certificates.sign_certificate(
        root_signer, issuer=root_name,
        subject=profiles.ca_subject(f"{settings.organisation} Issuing CA {now.year}", settings.organisation),
        public_key=issuing_signer.public_key, serial=_serial(), not_before=now, not_after=now + ISSUING_VALIDITY,
        extensions=[*certificates.ca_extensions(issuing_signer.public_key, root_signer.public_key, path_length=0),
                    certificates.issuer_access(settings.certificate_url(root.serial_number))])
    issuing = _recorded(session, CaRole.ISSUING, issuing_cert, issuing_ref, root, held_by)

    responder = _responder(session, settings, issuing, issuing_signer, held_by, key_type, now)
    first_crl = crls.publish(session, issuing, issuing_signer, now=now, next_update_after=settings.crl_next_update)
    record(session, first.actor, "ca.ceremony", target=f"ca:{issuing.serial_number}",
           after={"officers": [first.actor, second.actor], "signer": settings.signer, "key_type": key_type,
                  "root": _summary(root), "issuing": _summary(issuing), "ocsp": _summary(responder),
                  "crl_number": first_crl.number, "replaced": replace},
           note=f"held by {held_by}")
    session.flush()
    return Ceremony(root, issuing, responder)


def make_ocsp_responder(session: Session, settings: CaSettings, officers: Sequence[Staff], *,
                        key_type: str = "ec_p256", now: dt.datetime | None = None) -> CaCertificate:
    """A new OCSP responder certificate (and key) for the active issuing CA, replacing the one in
    use: before the old one expires, or when its key is feared lost."""
    first, second = _officers(officers)
    issuing = authority.active(session, CaRole.ISSUING)
    if issuing is None:
        raise CeremonyRefused("there is no issuing CA: hold the ceremony first")
    now = certificates.whole_seconds(now or utcnow())
    session.execute(update(CaCertificate).where(CaCertificate.role == CaRole.OCSP).values(active=False))
    held_by = _held_by(first, second)
    responder = _responder(session, settings, issuing, signers.open_signer(issuing.key_ref, settings), held_by,
                           key_type, now)
    record(session, first.actor, "ca.ocsp_responder", target=f"ca:{issuing.serial_number}",
           after={"officers": [first.actor, second.actor], "ocsp": _summary(responder)}, note=f"held by {held_by}")
    session.flush()
    return responder


def _responder(session: Session, settings: CaSettings, issuing: CaCertificate, issuing_signer: signers.Signer,
               held_by: str, key_type: str, now: dt.datetime) -> CaCertificate:
    ref, signer = signers.new_key(settings, _key_name("ocsp", now), key_type)
    issuing_cert = x509.Certificate.load(issuing.der)
    cert = certificates.sign_certificate(
        issuing_signer, issuer=issuing_cert.subject,
        subject=profiles.ca_subject(f"{settings.organisation} OCSP Responder {now:%Y%m%d}", settings.organisation),
        public_key=signer.public_key, serial=_serial(), not_before=now,
        not_after=min(now + RESPONDER_VALIDITY, issuing.not_after),
        extensions=certificates.responder_extensions(signer.public_key, issuing_signer.public_key))
    return _recorded(session, CaRole.OCSP, cert, ref, issuing, held_by)


def _officers(officers: Sequence[Staff]) -> tuple[Staff, Staff]:
    if len(officers) != 2:
        raise CeremonyRefused(f"a ceremony is held by two officers, not {len(officers)}")
    first, second = officers
    try:
        policy.check_two_officers(first, second)
    except PolicyRefused as exc:
        raise CeremonyRefused(exc.message) from exc
    return first, second


def _held_by(first: Staff, second: Staff) -> str:
    return f"{first.actor}, {second.actor}"


def _key_name(role: str, now: dt.datetime) -> str:
    # Unique, so a later ceremony never meets an earlier key's file or token label.
    return f"{role}-{now:%Y%m%dT%H%M%S}-{os.urandom(3).hex()}"


def _serial() -> int:
    return int.from_bytes(os.urandom(16), "big") or 1


def _recorded(session: Session, role: CaRole, cert: x509.Certificate, key_ref: str, issuer: CaCertificate | None,
              held_by: str) -> CaCertificate:
    validity = cert["tbs_certificate"]["validity"]
    row = CaCertificate(role=role, subject=certificates.subject_text(cert),
                        serial_number=certificates.serial_hex(cert.serial_number),
                        not_before=validity["not_before"].native, not_after=validity["not_after"].native,
                        der=cert.dump(), key_ref=key_ref, issuer=issuer, active=True, created_by=held_by)
    session.add(row)
    session.flush()
    return row


def _summary(row: CaCertificate) -> dict:
    return {"serial": row.serial_number, "subject": row.subject, "not_after": row.not_after.isoformat(),
            "key_ref": row.key_ref}
