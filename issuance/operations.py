"""What the signing service does: issue a certificate for a job, revoke one (under dual control, or
for an approved replacement or revocation order), mark the certificate a renewal or an information
change succeeds superseded, publish the CRL.

Each checks the policy (issuance.policy names every rule), changes the register, writes an audit
entry (models.record, chained like the web app's) and flushes; the signing service's request
commits once at its end. A certificate is only signed once its register row is in: the row
takes the random serial (retried on the unique constraint), the job ID and the order's one
unrevoked certificate in the same INSERT, so a certificate that was signed is always recorded
and two jobs racing for one order sign once.
"""
from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Callable

from asn1crypto import x509
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, load_only

from issuance import authority, certificates, crls, pkcs10, policy, profiles
from issuance.authority import Keyring
from issuance.interfaces import Issued, PolicyRefused, Published, Revoked, Superseded
from models import (
    CaCertificate,
    CaRole,
    Certificate,
    CertificateStatus,
    Crl,
    Order,
    RevocationReason,
    record,
)
from models.base import utcnow

ACTOR = "signing-service"  # who the audit log names for what the service does of itself
SUPERSEDE = "certificate.supersede"  # the audit action
_SERIAL_ATTEMPTS = 5  # 16 random bytes never collide in practice; a few tries prove it


def issue_certificate(session: Session, keyring: Keyring, *, job_id: str, order_number: str, csr_pem: str,
                      now: dt.datetime | None = None) -> Issued:
    """The order's certificate for the request; the job's certificate again when the job asks again."""
    request = pkcs10.read(csr_pem)
    if (replayed := _replayed(session, job_id, order_number, request.sha256)) is not None:
        return replayed
    now = now or utcnow()
    order = policy.order_to_issue(session, order_number)
    earlier = policy.earlier_certificate(session, order, now)
    profile = policy.profile_of(order)
    policy.check_key_type(request.key_type, profiles.key_types(profile))
    expected = profiles.subject_attributes(order)
    policy.check_subject(request.subject, expected)
    policy.check_subject_unchanged(order, profiles.subject_text(expected), earlier)
    issuing = authority.issuing_ca(session)
    not_before, not_after = policy.validity(order.product, issuing, now, business_type=order.business_type,
                                            earlier=earlier)
    policy.check_no_other_certificate(session, order)
    settings = keyring.settings
    issuer_cert = x509.Certificate.load(issuing.der)
    extensions = profiles.extensions(profile, request.public_key, issuer_cert.public_key,
                                     crl_url=settings.crl_url(issuing.serial_number), ocsp_url=settings.ocsp_url,
                                     issuer_url=settings.certificate_url(issuing.serial_number))

    row = _allocated(session, job_id, order, request.sha256, lambda serial: Certificate(
        order_id=order.id, issuer_id=issuing.id, profile_id=profile.id, job_id=job_id,
        serial_number=certificates.serial_hex(serial), subject=profiles.subject_text(expected),
        key_type=request.key_type, csr_sha256=request.sha256, not_before=not_before, not_after=not_after,
        der=b"", status=CertificateStatus.VALID))
    if isinstance(row, Issued):
        return row
    signed = certificates.sign_certificate(
        keyring.signer(issuing), issuer=issuer_cert.subject, subject=profiles.subject(order),
        public_key=request.public_key, serial=int(row.serial_number, 16), not_before=not_before,
        not_after=not_after, extensions=extensions)
    row.der = signed.dump()
    record(session, ACTOR, "certificate.issue", order=order, target=f"certificate:{row.serial_number}",
           after={"job_id": job_id, "serial": row.serial_number, "subject": row.subject, "key_type": row.key_type,
                  "profile": profile.code, "issuer": issuing.serial_number, "not_after": not_after.isoformat(),
                  "csr_sha256": request.sha256,
                  **({"succeeds": earlier.serial_number} if earlier is not None else {})})
    session.flush()
    return _issued(row)


def _replayed(session: Session, job_id: str, order_number: str, csr_sha256: str) -> Issued | None:
    """The job's certificate when the job asked before; PolicyRefused when the job ID was used for
    another request, or its certificate was revoked since (never handed to a key again)."""
    found = session.execute(select(Certificate, Order.number).join(Order, Order.id == Certificate.order_id)
                            .where(Certificate.job_id == job_id)).first()
    if found is None:
        return None
    certificate, number = found
    if number != order_number or certificate.csr_sha256 != csr_sha256:
        raise PolicyRefused("job_conflict", f"job {job_id} asked for another order or with another request before")
    if certificate.status is CertificateStatus.REVOKED:
        raise PolicyRefused("job_certificate_revoked", f"job {job_id}'s certificate {certificate.serial_number} "
                                                       "was revoked")
    return _issued(certificate)


def _allocated(session: Session, job_id: str, order: Order, csr_sha256: str,
               make: Callable[[int], Certificate]) -> Certificate | Issued:
    """The register row for a new random serial, inserted (unsigned yet) in a savepoint. When the
    insert fails, the job may have been recorded by a concurrent request (its certificate is
    returned), the order may have got its certificate from another job (refused), or the serial
    was taken (another is tried)."""
    for attempt in itertools.count(1):
        row = make(int.from_bytes(os.urandom(16), "big") or 1)
        try:
            with session.begin_nested():
                session.add(row)
            return row
        except IntegrityError:
            if (replayed := _replayed(session, job_id, order.number, csr_sha256)) is not None:
                return replayed
            policy.check_no_other_certificate(session, order)
            if attempt == _SERIAL_ATTEMPTS:
                raise


def _issued(certificate: Certificate) -> Issued:
    return Issued(serial_number=certificate.serial_number, certificate_pem=certificates.to_pem(certificate.der),
                  chain_pem=authority.chain_pem(certificate.issuer), not_before=certificate.not_before,
                  not_after=certificate.not_after)


def revoke_certificate(session: Session, keyring: Keyring, serial_number: str, reason: int, *, requested_by: str,
                       confirmed_by: str, now: dt.datetime | None = None) -> Revoked:
    """Revoke once two officers agreed (active senior reviewers or admins, not the same, named as
    staff:<username> or by username), then publish the issuer's CRL with it. A certificate revoked
    already is answered as it was revoked, without a second CRL."""
    code = policy.reason(reason)
    certificate = _locked(session, serial_number)
    requester, confirmer = policy.officer(session, requested_by), policy.officer(session, confirmed_by)
    policy.check_two_officers(requester, confirmer)
    if certificate.status is CertificateStatus.REVOKED:
        return _revoked_already(session, certificate)
    return _revoke_and_publish(session, keyring, certificate, code, requested_by=requester.actor,
                               confirmed_by=confirmer.actor, order=_order_ref(session, certificate.order_id), now=now)


def revoke_for_order(session: Session, keyring: Keyring, order_number: str, *,
                     now: dt.datetime | None = None) -> Revoked:
    """Revoke the certificate an approved replacement or revocation order names, with the order's
    reason, once the register shows the approvals its business type needs (policy.order_approvers);
    then publish the issuer's CRL with it. Asked again, the revocation is answered as it was made,
    without a second CRL."""
    order = policy.order_to_revoke(session, order_number)
    serial = session.scalar(select(Certificate.serial_number).where(Certificate.id == order.certificate_id))
    certificate = _locked(session, serial)
    policy.check_same_holder(session, order, certificate)
    code = policy.order_reason(order)
    requested_by, confirmed_by = policy.order_approvers(session, order)
    if certificate.status is CertificateStatus.REVOKED:
        return _revoked_already(session, certificate)
    return _revoke_and_publish(session, keyring, certificate, code, requested_by=requested_by,
                               confirmed_by=confirmed_by, order=order, now=now, for_order=order.number)


def supersede_for_order(session: Session, order_number: str, *, now: dt.datetime | None = None) -> Superseded:
    """Mark the certificate a renewal or an information change names superseded, once the order's own
    certificate is issued (and, the web app says, on the key). Superseded is not revoked: it goes on no
    CRL and OCSP answers it good until its end. Asked again, the supersession is answered as it was
    made."""
    order = policy.order_to_supersede(session, order_number)
    earlier = policy.named_certificate(session, order)
    policy.check_same_holder(session, order, earlier)
    successor = policy.own_certificate(session, order)
    target = f"certificate:{earlier.serial_number}"
    # One successor in force per certificate (policy: earlier_certificate_succeeded): superseded while
    # this order has its certificate, it was this order that superseded it.
    if earlier.status is CertificateStatus.SUPERSEDED and earlier.superseded_at is not None:
        return Superseded(earlier.serial_number, earlier.superseded_at)
    policy.check_earlier_valid(earlier)
    now = certificates.whole_seconds(now or utcnow())
    earlier.status, earlier.superseded_at = CertificateStatus.SUPERSEDED, now
    record(session, ACTOR, SUPERSEDE, order=order, target=target, before={"status": "valid"},
           after={"status": "superseded", "by": successor.serial_number})
    session.flush()
    return Superseded(earlier.serial_number, now)


def _revoke_and_publish(session: Session, keyring: Keyring, certificate: Certificate, code: RevocationReason, *,
                        requested_by: str, confirmed_by: str, order: Order, now: dt.datetime | None,
                        **after: str) -> Revoked:
    """The revocation recorded and audited (on `order`), and the issuer's CRL published with it."""
    before, now = _revoke(certificate, code, requested_by=requested_by, revoked_by=confirmed_by, now=now)
    record(session, confirmed_by, "certificate.revoke", order=order,
           target=f"certificate:{certificate.serial_number}", before={"status": before},
           after={"status": "revoked", "reason": int(code), "reason_name": code.name.lower(),
                  "requested_by": requested_by, "confirmed_by": confirmed_by, **after})
    crl = _publish(session, keyring, certificate.issuer, now)
    return Revoked(certificate.serial_number, now, code, crl.number)


def withdraw_certificate(session: Session, keyring: Keyring, serial_number: str, *, job_id: str, requested_by: str,
                         now: dt.datetime | None = None) -> Revoked:
    """Revoke (superseded) a certificate that never left the station: its job was wiped, or the key
    it was made for was lost to a cut-off step. Only the job that asked for it, while its order is not
    shipped, by its station or fulfillment staff; published on a new CRL before the job is redone."""
    certificate = _locked(session, serial_number)
    actor = policy.check_withdrawer(session, requested_by)
    order = session.scalars(select(Order).options(load_only(Order.id, Order.number, Order.status))
                            .where(Order.id == certificate.order_id)).one()
    policy.check_undelivered(certificate, order, job_id)
    if certificate.status is CertificateStatus.REVOKED:
        return _revoked_already(session, certificate)
    code = RevocationReason.SUPERSEDED
    before, now = _revoke(certificate, code, requested_by=actor, revoked_by=actor, now=now)
    record(session, actor, "certificate.withdraw", order=order, target=f"certificate:{certificate.serial_number}",
           before={"status": before}, after={"status": "revoked", "job_id": job_id, "reason": int(code)})
    crl = _publish(session, keyring, certificate.issuer, now)
    return Revoked(certificate.serial_number, now, code, crl.number)


def _locked(session: Session, serial_number: str) -> Certificate:
    """The certificate of that serial (hex, colons and case as typed), locked; PolicyRefused if none."""
    serial = serial_number.strip().lower().replace(":", "")
    certificate = session.scalars(select(Certificate).where(Certificate.serial_number == serial)
                                  .with_for_update()).first()
    if certificate is None:
        raise PolicyRefused("certificate_unknown", f"no certificate has the serial {serial_number}")
    return certificate


def _revoked_already(session: Session, certificate: Certificate) -> Revoked:
    """A certificate revoked already is answered as it was revoked, without a second CRL."""
    newest = crls.newest(session, certificate.issuer_id)
    return Revoked(certificate.serial_number, certificate.revoked_at, policy.reason(certificate.revocation_reason),
                   newest.number if newest else 0)


def _revoke(certificate: Certificate, code: RevocationReason, *, requested_by: str, revoked_by: str,
            now: dt.datetime | None) -> tuple[str, dt.datetime]:
    """The register row revoked: its status before, and the time (whole seconds, as in the CRL)."""
    now = certificates.whole_seconds(now or utcnow())
    before = str(certificate.status)
    certificate.status = CertificateStatus.REVOKED
    certificate.revocation_reason = int(code)
    certificate.revocation_requested_by = requested_by
    certificate.revocation_requested_at = certificate.revocation_requested_at or now
    certificate.revoked_by = revoked_by
    certificate.revoked_at = now
    return before, now


def publish_crl(session: Session, keyring: Keyring, now: dt.datetime | None = None) -> Published:
    """A new CRL of the issuing CA in use, answered, and of every other one still valid: certificates
    of an issuing CA that a later ceremony replaced can still be revoked, and their CRL must not lapse."""
    now = certificates.whole_seconds(now or utcnow())
    active = authority.issuing_ca(session)
    others = session.scalars(select(CaCertificate).where(
        CaCertificate.role == CaRole.ISSUING, CaCertificate.id != active.id, CaCertificate.not_after > now)).all()
    for issuing in others:
        _publish(session, keyring, issuing, now)
    crl = _publish(session, keyring, active, now)
    return Published(crl.number, crl.this_update, crl.next_update, crl.revoked_count)


def _publish(session: Session, keyring: Keyring, issuing: CaCertificate, now: dt.datetime) -> Crl:
    crl = crls.publish(session, issuing, keyring.signer(issuing), now=now,
                       next_update_after=keyring.settings.crl_next_update)
    record(session, ACTOR, "crl.publish", target=f"ca:{issuing.serial_number}",
           after={"number": crl.number, "revoked_count": crl.revoked_count,
                  "next_update": crl.next_update.isoformat()})
    session.flush()
    return crl


def _order_ref(session: Session, order_id: int) -> Order:
    """The order an audit entry names, its sealed columns left unread (no key opens them here)."""
    return session.scalars(select(Order).options(load_only(Order.id)).where(Order.id == order_id)).one()

