"""Revocation (证书吊销) asked for by the certificate's owner: "when the user stops using the digital
certificate, they can apply to revoke it" (the seed portal). Plain functions on a SQLAlchemy
session; the views keep the verified order-query identity.

Who may ask, for the certificates of the orders that identity sees:
- a unit certificate: the organisation, found by its unified social credit code with the SMS code to
  its agent's phone (the order query); the request names the legal representative, whose phone
  real-name check the reviewers run;
- a personal certificate: its holder, found by their ID type and number with the SMS code to the
  holder's phone on file; the reviewers check the holder by the identity method of the certificate's
  order (phone real-name or bank card).
The request is a REVOCATION order continuing the certificate's order (its data copied), free, signed
with the SMS code to the agent's (holder's) phone; two senior reviewers confirm it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    BusinessType,
    Certificate,
    CertificateStatus,
    CertKind,
    IdentityMethod,
    Order,
    Person,
    PersonRole,
    RevocationReason,
    record,
)
from models.base import utcnow
from models.order_state import APPLICANT_EDITABLE, CLOSED
from public import continuation
from public import order_query as queries
from public.operations import NotEditable, session_hash
from web.errors import N_

# What the applicant may give as the reason: privilegeWithdrawn is the CA's own decision (staff
# only), and caCompromise is never the applicant's.
OFFERED_REASONS = (RevocationReason.KEY_COMPROMISE, RevocationReason.AFFILIATION_CHANGED,
                   RevocationReason.SUPERSEDED, RevocationReason.CESSATION_OF_OPERATION,
                   RevocationReason.UNSPECIFIED)


class Refused(Exception):
    """A request the page answers with `message` (N_, translated where shown)."""

    message = ""


class NotRevocable(Refused):
    """The certificate is revoked, expired, or already has a revocation asked for."""

    message = N_("This certificate can no longer be revoked online: it is revoked or expired, or its revocation "
                 "has already been asked for.")


class NotOffered(Refused):
    """The catalogue has no price for revoking the certificate's product through its channel."""

    message = N_("Revocation of this certificate is not offered online. Please call the service phone.")


def may_ask(identity: queries.QueryIdentity) -> bool:
    """A unit certificate's revocation is asked for by the organisation (found by its credit code, not
    one of its agents by their own ID); a personal certificate's by its holder (found by their ID)."""
    return identity.cert_kind is CertKind.PERSONAL or identity.id_type == queries.CREDIT_CODE


def open_revocation(session: Session, certificate: Certificate) -> Order | None:
    return session.scalars(select(Order).where(
        Order.certificate_id == certificate.id, Order.business_type == BusinessType.REVOCATION,
        Order.status.not_in(CLOSED))).first()


def may_revoke(session: Session, certificate: Certificate, now: dt.datetime | None = None) -> bool:
    """The one rule: valid, not expired, and no revocation order for it open."""
    now = now or utcnow()
    return (certificate.status is CertificateStatus.VALID and certificate.not_after > now
            and open_revocation(session, certificate) is None)


@dataclass(frozen=True)
class CertificateRow:
    certificate: Certificate
    order: Order  # the order it came with
    revocation: Order | None  # the open revocation order, if one was asked for

    @property
    def revocable(self) -> bool:
        return self.revocation is None


def certificates_of(session: Session, identity: queries.QueryIdentity, now: dt.datetime) -> list[CertificateRow]:
    """The unrevoked, unexpired certificates of the identity's orders, the soonest to expire first."""
    orders = {order.id: order for order in queries.find_orders(session, identity)}
    if not orders:
        return []
    certificates = list(session.scalars(
        select(Certificate).where(Certificate.order_id.in_(orders), Certificate.status == CertificateStatus.VALID,
                                  Certificate.not_after > now)
        .order_by(Certificate.not_after, Certificate.id)))
    revocations = {order.certificate_id: order for order in session.scalars(select(Order).where(
        Order.certificate_id.in_([c.id for c in certificates]), Order.business_type == BusinessType.REVOCATION,
        Order.status.not_in(CLOSED)))}
    return [CertificateRow(c, orders[c.order_id], revocations.get(c.id)) for c in certificates]


def certificate_of(session: Session, identity: queries.QueryIdentity, serial: str) -> Certificate | None:
    """The certificate with this serial, if it came with one of the identity's orders."""
    certificate = certificate_by_serial(session, serial)
    if certificate is None:
        return None
    order = session.get(Order, certificate.order_id)
    return certificate if queries.order_of(session, identity, order.number) is not None else None


def certificate_by_serial(session: Session, serial: str) -> Certificate | None:
    return session.scalars(select(Certificate).where(Certificate.serial_number == serial.lower())).first()


def draft_of(session: Session, certificate: Certificate, applicant_secret: str | None) -> Order | None:
    """This browser's revocation order for the certificate while it may still be edited."""
    order = open_revocation(session, certificate)
    if (order is None or applicant_secret is None or order.status not in APPLICANT_EDITABLE
            or order.applicant_session_hash != session_hash(applicant_secret)):
        return None
    return order


def form_data(order: Order) -> dict:
    """The revocation order as the form's values ('return to edit')."""
    data = {"reason": order.revocation_reason, "note": order.revocation_note or "", "consent": True,
            "understood": True}
    if order.personal:
        return data
    lr = order.legal_rep
    return {**data, "legal_rep_name": lr.name, "legal_rep_id_type": str(lr.id_type),
            "legal_rep_id_number": lr.id_number, "legal_rep_phone": lr.phone}


def first_form_data(certificate_order: Order) -> dict:
    """What the form starts with: the legal representative's name and ID type on file. The ID
    number and phone are typed again: they are what the real-name check compares. (A personal
    certificate's holder is the one the order query found: nothing to type.)"""
    if certificate_order.personal:
        return {}
    lr = certificate_order.legal_rep
    return {"legal_rep_name": lr.name, "legal_rep_id_type": str(lr.id_type)}


def request_revocation(session: Session, certificate: Certificate, data: dict, *, actor: str,
                       applicant_secret: str) -> Order:
    """The owner's request: a REVOCATION order continuing the certificate's order, its data copied,
    waiting for the confirmation (it has no materials) and the agent's (holder's) SMS signature.
    NotRevocable when the rule refuses, also when another request for it won a race."""
    if not may_revoke(session, certificate):
        raise NotRevocable(certificate.serial_number)
    earlier = session.get(Order, certificate.order_id)
    try:
        order = continuation.continuing(session, earlier, BusinessType.REVOCATION, applicant_secret=applicant_secret,
                                        certificate_id=certificate.id)
    except LookupError as exc:
        raise NotOffered(earlier.product.code) from exc
    if not order.personal:
        order.identity_method = IdentityMethod.LEGAL_REP_PHONE
    _fill(order, data)
    try:
        with session.begin_nested():
            session.add(order)
            record(session, actor, "order.created", order=order,
                   after={"status": str(order.status), "number": order.number,
                          "business_type": str(order.business_type), "certificate": certificate.serial_number,
                          "previous_order": earlier.number})
            session.flush()
    except IntegrityError as exc:  # uq_order_open_revocation: the other request came first
        raise NotRevocable(certificate.serial_number) from exc
    return order


def update_revocation(session: Session, order: Order, data: dict, *, actor: str) -> Order:
    """'Return to edit': the same order takes the corrected reason, note and (a unit's) legal
    representative."""
    if order.status not in APPLICANT_EDITABLE:
        raise NotEditable(order.number)
    _fill(order, data)
    record(session, actor, "order.edited", order=order)
    session.flush()
    return order


def _fill(order: Order, data: dict) -> None:
    order.revocation_reason = int(RevocationReason(data["reason"]))
    order.revocation_note = data["note"] or None
    if order.personal:
        return  # the holder is the certificate's order's (found by the order query), copied
    # The order's own row, changed in place on an edit: no copy of the ID number is left behind.
    legal_rep = order.legal_rep or Person(role=PersonRole.LEGAL_REP)
    legal_rep.name, legal_rep.phone = data["legal_rep_name"], data["legal_rep_phone"]
    legal_rep.id_type, legal_rep.id_number = data["legal_rep_id_type"], data["legal_rep_id_number"]
    order.legal_rep = legal_rep

