"""The certificate register: every certificate the CA issued, found by serial, credit code,
organisation (a personal certificate's holder), order or media number; and revocation under dual
control — one senior reviewer asks (with an RFC 5280 reason), a second one confirms, and only then the
signing service, which holds the CA's key, revokes it and publishes a new CRL. What follows any
revocation (this one, or an approved replacement's or revocation order's, review.revocation_work) is
`after_revocation`: the key is revoked and the applicant told.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from issuance.interfaces import Revoked, SigningService
from models import (
    BusinessType,
    CaCertificate,
    CaRole,
    Certificate,
    CertificateStatus,
    CertKind,
    Crl,
    Order,
    Organisation,
    RevocationReason,
    Staff,
    StaffRole,
    Token,
    TokenState,
    record,
)
from models.base import utcnow
from models.holders import HOLDER_NAME, holder, with_holder
from models.token_state import TOKEN_TRANSITIONS
from review import messages
from review.operations import ReviewError
from web.errors import N_

PAGE_SIZE = 50
SHOWN_STATUSES = ("valid", "expired", "superseded", "revoked")
# Who asks and who confirms a revocation: two different senior reviewers (the dual control of
# revocation orders).
REVOKERS = (StaffRole.SENIOR_REVIEWER,)


@dataclass(frozen=True)
class RegisterFilter:
    q: str | None = None  # serial, credit code, order or media number, part of the organisation's (holder's) name
    status: str | None = None  # one of SHOWN_STATUSES


def register_page(session: Session, flt: RegisterFilter, page: int, now: dt.datetime,
                  size: int = PAGE_SIZE) -> tuple[list, bool]:
    """One page of the register, newest first, and whether there is a next page."""
    query = (select(Certificate.id, Certificate.serial_number, Certificate.status, Certificate.not_before,
                    Certificate.not_after, Certificate.media_serial, Certificate.revocation_reason,
                    Certificate.revoked_at, Certificate.revocation_requested_by, Order.number.label("order_number"),
                    HOLDER_NAME.label("holder_name"), Organisation.credit_code)
             .join(Order, Certificate.order_id == Order.id))
    query = with_holder(query)
    if flt.q:
        query = query.where(_matches(flt.q))
    if flt.status:
        query = query.where(_status_condition(flt.status, now))
    rows = session.execute(query.order_by(Certificate.id.desc()).offset((page - 1) * size).limit(size + 1)).all()
    return rows[:size], len(rows) > size


def _matches(text: str):
    exact = text.strip()
    upper = exact.upper()
    return or_(Certificate.serial_number == exact.lower().replace(":", ""), Organisation.credit_code == upper,
               Order.number == upper, Certificate.media_serial == exact,
               Organisation.name.contains(exact, autoescape=True),
               and_(Order.cert_kind == CertKind.PERSONAL, holder.name.contains(exact, autoescape=True)))


def _status_condition(status: str, now: dt.datetime):
    if status == "expired":
        return and_(Certificate.status == CertificateStatus.VALID, Certificate.not_after <= now)
    if status == "valid":
        return and_(Certificate.status == CertificateStatus.VALID, Certificate.not_after > now)
    return Certificate.status == CertificateStatus(status)


def ca_certificates(session: Session) -> list[CaCertificate]:
    """The CA's certificates, those in use first, by role (root, issuing, OCSP responder)."""
    order = {CaRole.ROOT: 0, CaRole.ISSUING: 1, CaRole.OCSP: 2}
    found = session.scalars(select(CaCertificate).order_by(CaCertificate.not_before.desc())).all()
    return sorted(found, key=lambda ca: (not ca.active, order[ca.role]))


def newest_crls(session: Session) -> list:
    """The newest CRL of each issuer, with the issuer's subject."""
    newest = select(Crl.issuer_id, func.max(Crl.number).label("number")).group_by(Crl.issuer_id).subquery()
    return session.execute(
        select(Crl.number, Crl.this_update, Crl.next_update, Crl.revoked_count, CaCertificate.subject)
        .join(newest, (Crl.issuer_id == newest.c.issuer_id) & (Crl.number == newest.c.number))
        .join(CaCertificate, CaCertificate.id == Crl.issuer_id)).all()


def certificates_of(session: Session, order: Order) -> list[Certificate]:
    """The certificates issued for an order, oldest first (the order page lists them)."""
    return list(session.scalars(select(Certificate).where(Certificate.order_id == order.id).order_by(Certificate.id)))


def certificate_by_serial(session: Session, serial: str) -> Certificate | None:
    return session.scalar(select(Certificate).where(Certificate.serial_number == serial.lower()))


def request_revocation(session: Session, certificate: Certificate, staff: Staff, reason: RevocationReason,
                       note: str | None, now: dt.datetime | None = None) -> None:
    """The first of the two people: ask for the revocation, with its reason."""
    _require_revoker(staff)
    if certificate.status is CertificateStatus.REVOKED:
        raise ReviewError(N_("This certificate is revoked already."))
    if certificate.revocation_requested_by is not None:
        raise ReviewError(N_("A revocation of this certificate is waiting for confirmation already."))
    certificate.revocation_requested_by, certificate.revocation_requested_at = staff.actor, now or utcnow()
    certificate.revocation_reason, certificate.revocation_note = int(reason), (note or "").strip() or None
    record(session, staff.actor, "certificate.revocation_requested", order=session.get(Order, certificate.order_id),
           target=f"certificate:{certificate.serial_number}", after={"reason": reason.name.lower()},
           note=certificate.revocation_note)


def withdraw_revocation(session: Session, certificate: Certificate, staff: Staff) -> None:
    """Take back a request that is still waiting (the one who asked, or another senior reviewer)."""
    _require_revoker(staff)
    if certificate.revocation_requested_by is None or certificate.status is CertificateStatus.REVOKED:
        raise ReviewError(N_("No revocation of this certificate is waiting for confirmation."))
    before = {"requested_by": certificate.revocation_requested_by, "reason": certificate.revocation_reason}
    certificate.revocation_requested_by = certificate.revocation_requested_at = None
    certificate.revocation_reason = certificate.revocation_note = None
    record(session, staff.actor, "certificate.revocation_withdrawn", order=session.get(Order, certificate.order_id),
           target=f"certificate:{certificate.serial_number}", before=before)


def confirm_revocation(session: Session, signing: SigningService, certificate: Certificate,
                       staff: Staff) -> Revoked:
    """The second person: the signing service revokes the certificate and publishes a new CRL.
    It records the revocation itself, in its own transaction, and checks the two people again;
    this session only reads (see web.database.writes_elsewhere)."""
    _require_revoker(staff)
    if certificate.status is CertificateStatus.REVOKED:
        raise ReviewError(N_("This certificate is revoked already."))
    if certificate.revocation_requested_by is None:
        raise ReviewError(N_("Nobody has asked for this revocation yet."))
    if certificate.revocation_requested_by == staff.actor:
        raise ReviewError(N_("The revocation must be confirmed by another senior reviewer."))
    return signing.revoke(certificate.serial_number, RevocationReason(certificate.revocation_reason),
                          requested_by=certificate.revocation_requested_by, confirmed_by=staff.actor)


# A replacement's reason says what became of the old key: lost (its certificate's key compromised)
# or damaged (its certificate superseded by the replacement's).
_KEY_FATE = {RevocationReason.KEY_COMPROMISE: TokenState.LOST, RevocationReason.SUPERSEDED: TokenState.DAMAGED}


def after_revocation(session: Session, certificate: Certificate, revoked: Revoked, actor: str, *,
                     order: Order | None = None) -> None:
    """What follows a revocation the signing service made (in its own process: `certificate` read
    after its commit): the key the certificate is on is revoked — by way of lost or damaged when a
    replacement (`order`) says which — and the applicant of `order` (else of the certificate's own
    order) is told since when, and that the key may be sent back."""
    order = order or session.get(Order, certificate.order_id)
    replaces = (order.business_type is BusinessType.REPLACEMENT and order.certificate_id == certificate.id
                and order.revocation_reason is not None)
    fate = _KEY_FATE.get(RevocationReason(order.revocation_reason)) if replaces else None
    revoke_key(session, certificate, actor, fate)
    messages.certificate_revoked(session, order, certificate.serial_number, revoked.revoked_at)


def revoke_key(session: Session, certificate: Certificate, actor: str, fate: TokenState | None = None) -> None:
    """The key of the revoked certificate goes to REVOKED, through `fate` (LOST or DAMAGED) first when
    given, as far as the key's transitions allow: a key in the post (shipped, not yet delivered) stays
    as it is until it is delivered or comes back. A key that serves another order since is left alone."""
    key = _key_of(session, certificate)
    if key is None or key.state is TokenState.REVOKED:
        return
    note = f"certificate {certificate.serial_number} revoked"
    if fate is not None and key.state is not fate and fate in TOKEN_TRANSITIONS[key.state]:
        key.move_to(fate, actor, note=note)
    if TokenState.REVOKED in TOKEN_TRANSITIONS[key.state]:
        key.move_to(TokenState.REVOKED, actor, note=note)


def _key_of(session: Session, certificate: Certificate) -> Token | None:
    """The key the certificate was written to (its media number), if it still belongs to its order."""
    if certificate.media_serial is None:
        return None
    key = session.scalars(select(Token).where(Token.serial == certificate.media_serial)).first()
    return key if key is not None and key.order_id == certificate.order_id else None


def _require_revoker(staff: Staff) -> None:
    if staff.role not in REVOKERS:
        raise ReviewError(N_("Only a senior reviewer can ask for or confirm a revocation."))
