"""Revocation (证书吊销) asked for by the organisation: "when the user stops using the digital
certificate, they can apply to revoke it" (the seed portal). Plain functions on a SQLAlchemy
session; the views keep the verified order-query identity.

Who may ask: the organisation, found by its unified social credit code with the SMS code to its
agent's phone (the order query), for the certificates of the orders that identity sees. The
request is a REVOCATION order continuing the certificate's order (its data copied), free, with the
legal representative's phone real-name check for the reviewers; two senior reviewers confirm it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    AuditEntry,
    BusinessType,
    Certificate,
    CertificateStatus,
    CertKind,
    IdentityMethod,
    Order,
    OrderStatus,
    Organisation,
    Person,
    PersonRole,
    RevocationReason,
    next_order_number,
)
from models.base import utcnow
from models.order_state import APPLICANT_EDITABLE, CLOSED
from public import catalogue
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


def asks_by_credit_code(identity: queries.QueryIdentity) -> bool:
    """A unit certificate's revocation is asked for by the organisation: found by its credit code."""
    return identity.cert_kind is CertKind.UNIT and identity.id_type == queries.CREDIT_CODE


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
    lr = order.legal_rep
    return {"reason": order.revocation_reason, "note": order.revocation_note or "", "legal_rep_name": lr.name,
            "legal_rep_id_type": str(lr.id_type), "legal_rep_id_number": lr.id_number,
            "legal_rep_phone": lr.phone, "consent": True, "understood": True}


def first_form_data(certificate_order: Order) -> dict:
    """What the form starts with: the legal representative's name and ID type on file. The ID
    number and phone are typed again: they are what the real-name check compares."""
    lr = certificate_order.legal_rep
    return {"legal_rep_name": lr.name, "legal_rep_id_type": str(lr.id_type)}


def request_revocation(session: Session, certificate: Certificate, data: dict, *, actor: str,
                       applicant_secret: str) -> Order:
    """The organisation's request: a REVOCATION order continuing the certificate's order, its data
    copied, waiting for the confirmation (it has no materials) and the agent's SMS signature.
    NotRevocable when the rule refuses, also when another request for it won a race."""
    if not may_revoke(session, certificate):
        raise NotRevocable(certificate.serial_number)
    earlier = session.get(Order, certificate.order_id)
    try:
        price = catalogue.price_cents(session, earlier.product, earlier.channel, BusinessType.REVOCATION,
                                      earlier.media_model)
    except LookupError as exc:
        raise NotOffered(earlier.product.code) from exc
    order = Order(
        number=next_order_number(session, earlier.cert_kind), business_type=BusinessType.REVOCATION,
        cert_kind=earlier.cert_kind, status=OrderStatus.AWAITING_MATERIALS, channel=earlier.channel,
        applicant_session_hash=session_hash(applicant_secret), previous_order=earlier, certificate_id=certificate.id,
        product=earlier.product, media_type=earlier.media_type, media_model=earlier.media_model, price_cents=price,
        identity_method=IdentityMethod.LEGAL_REP_PHONE, agent_identity_method=earlier.agent_identity_method,
    )
    _copy_earlier(order, earlier)
    _fill(order, data)
    order.audit_entries.append(AuditEntry(
        actor=actor, action="order.created",
        after={"status": str(order.status), "number": order.number, "business_type": str(order.business_type),
               "certificate": certificate.serial_number, "previous_order": earlier.number}))
    try:
        with session.begin_nested():
            session.add(order)
            session.flush()
    except IntegrityError as exc:  # uq_order_open_revocation: the other request came first
        raise NotRevocable(certificate.serial_number) from exc
    return order


def update_revocation(session: Session, order: Order, data: dict, *, actor: str) -> Order:
    """'Return to edit': the same order takes the corrected reason, note and legal representative."""
    if order.status not in APPLICANT_EDITABLE:
        raise NotEditable(order.number)
    _fill(order, data)
    order.audit_entries.append(AuditEntry(actor=actor, action="order.edited"))
    session.flush()
    return order


def _copy_earlier(order: Order, earlier: Order) -> None:
    """The organisation, agent, bank, invoice and mailing data of the certificate's order, in rows of
    the new order's own (its retention and edits never touch the earlier order's)."""
    o, ag = earlier.organisation, earlier.agent
    order.organisation = Organisation(name=o.name, department=o.department, credit_code=o.credit_code,
                                      region_province=o.region_province, region_city=o.region_city, phone=o.phone)
    order.agent = Person(role=PersonRole.AGENT, name=ag.name, phone=ag.phone, email=ag.email, id_type=ag.id_type,
                         id_number=ag.id_number, bank_card_number=ag.bank_card_number)
    for name in ("account_name", "account_number", "bank_name", "bank_province", "bank_city", "invoice_taxpayer_id",
                 "invoice_address_phone", "invoice_bank_account", "mailing_province", "mailing_city",
                 "mailing_address"):
        setattr(order, name, getattr(earlier, name))


def _fill(order: Order, data: dict) -> None:
    order.revocation_reason = int(RevocationReason(data["reason"]))
    order.revocation_note = data["note"] or None
    # The order's own row, changed in place on an edit: no copy of the ID number is left behind.
    legal_rep = order.legal_rep or Person(role=PersonRole.LEGAL_REP)
    legal_rep.name, legal_rep.phone = data["legal_rep_name"], data["legal_rep_phone"]
    legal_rep.id_type, legal_rep.id_number = data["legal_rep_id_type"], data["legal_rep_id_number"]
    order.legal_rep = legal_rep

