"""The issuing CA's CRL (RFC 5280 section 5): every certificate it revoked, with the reason, a CRL
number increasing per issuer, and the authority key identifier; signed like certificates are,
so a key on a token signs it too.

A revoked certificate stays on the CRL after it expired: the register keeps no other promise
about expired certificates, and the list of a registration desk's CA stays small.
"""
from __future__ import annotations

import datetime as dt
import itertools

from asn1crypto import crl, x509
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuance import certificates
from issuance.signers import Signer
from models import CaCertificate, Certificate, CertificateStatus, Crl, RevocationReason

_ATTEMPTS = 5  # publications racing for a CRL number; more than a few means something else is wrong


def sign_crl(signer: Signer, issuer: x509.Certificate, *, number: int, this_update: dt.datetime,
             next_update: dt.datetime, revoked: list[tuple[int, dt.datetime, int | None]]) -> crl.CertificateList:
    """`revoked` holds (serial, revocation time, RFC 5280 reason code) of each certificate."""
    entries = []
    for serial, revoked_at, reason in revoked:
        entry = {"user_certificate": serial, "revocation_date": certificates.time(revoked_at)}
        # RFC 5280 5.3.1: the reason code unspecified (0) SHOULD be left out rather than listed.
        if reason is not None and reason != RevocationReason.UNSPECIFIED:
            entry["crl_entry_extensions"] = [certificates.extension("crl_reason", crl.CRLReason(int(reason)))]
        entries.append(entry)
    tbs = {
        "version": "v2",
        "signature": signer.signature_algorithm,
        "issuer": issuer.subject,
        "this_update": certificates.time(this_update),
        "next_update": certificates.time(next_update),
        "crl_extensions": [
            certificates.extension("crl_number", number),
            certificates.extension("authority_key_identifier",
                                   {"key_identifier": certificates.key_identifier(issuer.public_key)}),
        ],
    }
    if entries:  # RFC 5280 5.1.2.6: absent, not empty, when nothing is revoked
        tbs["revoked_certificates"] = entries
    tbs_cert_list = crl.TbsCertList(tbs)
    return crl.CertificateList({"tbs_cert_list": tbs_cert_list, "signature_algorithm": signer.signature_algorithm,
                                "signature": signer.sign(tbs_cert_list.dump())})


def publish(session: Session, issuing: CaCertificate, signer: Signer, *, now: dt.datetime,
            next_update_after: dt.timedelta) -> Crl:
    """Sign the issuing CA's CRL as it stands now and keep it; the newest is served. Two
    publications at once cannot share a number (unique per issuer): the later one takes the next."""
    now = certificates.whole_seconds(now)
    rows = session.execute(
        select(Certificate.serial_number, Certificate.revoked_at, Certificate.revocation_reason)
        .where(Certificate.issuer_id == issuing.id, Certificate.status == CertificateStatus.REVOKED)
        .order_by(Certificate.revoked_at, Certificate.id)).all()
    revoked = [(int(serial, 16), revoked_at, reason) for serial, revoked_at, reason in rows]
    issuer = x509.Certificate.load(issuing.der)
    for attempt in itertools.count(1):
        number = (session.scalar(select(func.max(Crl.number)).where(Crl.issuer_id == issuing.id)) or 0) + 1
        signed = sign_crl(signer, issuer, number=number, this_update=now, next_update=now + next_update_after,
                          revoked=revoked)
        row = Crl(issuer_id=issuing.id, number=number, this_update=now, next_update=now + next_update_after,
                  der=signed.dump(), revoked_count=len(revoked))
        try:
            with session.begin_nested():
                session.add(row)
            return row
        except IntegrityError:
            if attempt == _ATTEMPTS:
                raise


def newest(session: Session, issuer_id: int) -> Crl | None:
    return session.scalars(select(Crl).where(Crl.issuer_id == issuer_id).order_by(Crl.number.desc()).limit(1)).first()
