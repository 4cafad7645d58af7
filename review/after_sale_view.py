"""What the review screen shows of an after-sale order besides the application itself, worked out
here so the template only lays it out: for a replacement (补办) the earlier order and its certificate,
the cause and the payment proof's match by finance; for a revocation (吊销) the certificate, the
reason asked and who asked; for an information change (变更) the old and the new values side by side,
the old ones from the organisation's last approved order (review.dual_control); for an unlock (解锁)
the key's certificate, how the unlock was authorised and where the key was unlocked."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from documents.materials import current_materials
from models import (
    BusinessType,
    Certificate,
    HelperSession,
    IdentityCheck,
    Material,
    MaterialKind,
    Order,
    Payment,
    PaymentStatus,
    Person,
    RevocationReason,
)
from review.dual_control import last_approved_order
from review.forms import REVOCATION_REASONS

R = RevocationReason
# What a reason means to someone who does not read RFC 5280.
PLAIN_REASONS = {
    R.UNSPECIFIED: _l("No reason given"),
    R.KEY_COMPROMISE: _l("The key was lost, or its password or private key may be known to others"),
    R.CA_COMPROMISE: _l("The CA's own key may be known to others"),
    R.AFFILIATION_CHANGED: _l("The organisation's name or other details in the certificate changed"),
    R.SUPERSEDED: _l("A new certificate replaces this one"),
    R.CESSATION_OF_OPERATION: _l("The organisation closed or no longer needs the certificate"),
    R.PRIVILEGE_WITHDRAWN: _l("The right to hold the certificate was withdrawn"),
}
# A replacement's cause, by the reason its old certificate is revoked with.
REPLACEMENT_CAUSES = {R.KEY_COMPROMISE: _l("Key lost"), R.SUPERSEDED: _l("Key damaged")}
RFC_REASONS = dict(REVOCATION_REASONS)
# The documents whose earlier and new versions an information change shows side by side.
COMPARED_DOCUMENTS = (MaterialKind.ESEAL_SAMPLE_FORM, MaterialKind.BUSINESS_LICENCE)


@dataclass(frozen=True)
class Reason:
    code: int
    rfc: str  # the RFC 5280 name, with its label
    plain: str


@dataclass(frozen=True)
class Replacement:
    previous: Order | None
    certificate: Certificate | None
    cause: str | None  # lost or damaged
    reason: Reason | None
    proof: Material | None  # the payment proof (付款凭证)
    payment: Payment | None  # the payment finance matched it to, once it did

    @property
    def matched(self) -> bool:
        return self.payment is not None and self.payment.status is PaymentStatus.PAID


@dataclass(frozen=True)
class Revocation:
    certificate: Certificate | None
    previous: Order | None
    reason: Reason | None
    agent: Person  # who asked: the agent, or a personal certificate's holder
    legal_rep: Person | None  # a personal certificate has none
    legal_rep_checks: list[IdentityCheck]  # the latest identity checks of the legal representative (of the holder)
    asked_at: dt.datetime


@dataclass(frozen=True)
class Row:
    """One value before and after an information change."""

    label: str
    old: str
    new: str
    changed: bool


@dataclass(frozen=True)
class DocumentPair:
    kind: MaterialKind
    old: Material
    old_order: str  # the number the earlier document's image is served under
    new: Material


@dataclass(frozen=True)
class InfoChange:
    previous: Order | None  # the organisation's last approved order: None when it has none
    rows: list[Row]
    documents: list[DocumentPair]


@dataclass(frozen=True)
class Unlock:
    previous: Order | None  # the order the key's certificate came with
    certificate: Certificate | None
    authorised_by: str | None  # identity or sms (public.unlock)
    key_work: str | None  # helper: at the applicant's PC; station: mailed in


def after_sale(session: Session, order: Order, *, payment: Payment | None,
               checks: list[IdentityCheck]) -> Replacement | Revocation | InfoChange | Unlock | None:
    """The panel of the order's business type; None for the types that have none (new, renewal)."""
    if order.business_type == BusinessType.UNLOCK:
        return unlock(session, order)
    if order.business_type == BusinessType.REPLACEMENT:
        return replacement(session, order, payment)
    if order.business_type == BusinessType.REVOCATION:
        return revocation(order, checks)
    if order.business_type == BusinessType.INFO_CHANGE:
        return info_change(session, order)
    return None


def reason(code: int | None) -> Reason | None:
    if code is None:
        return None
    try:
        known = R(code)
    except ValueError:  # a code the desk does not use (certificateHold, …)
        known = R.UNSPECIFIED
    return Reason(int(code), str(RFC_REASONS[known]), str(PLAIN_REASONS[known]))


def replacement(session: Session, order: Order, payment: Payment | None) -> Replacement:
    cause = REPLACEMENT_CAUSES.get(order.revocation_reason)
    return Replacement(previous=order.previous_order, certificate=order.certificate,
                       cause=str(cause) if cause else None, reason=reason(order.revocation_reason),
                       proof=current_materials(session, order).get(MaterialKind.PAYMENT_PROOF), payment=payment)


def revocation(order: Order, checks: list[IdentityCheck]) -> Revocation:
    return Revocation(certificate=order.certificate, previous=order.previous_order,
                      reason=reason(order.revocation_reason), agent=order.agent, legal_rep=order.legal_rep,
                      legal_rep_checks=[c for c in checks if order.personal or c.method.startswith("legal_rep")],
                      asked_at=order.created_at)


def unlock(session: Session, order: Order) -> Unlock:
    authorised_by = session.scalar(select(HelperSession.authorised_by).where(HelperSession.order_id == order.id)
                                   .order_by(HelperSession.id.desc()))
    return Unlock(previous=order.previous_order, certificate=order.certificate, authorised_by=authorised_by,
                  key_work=order.key_work)


def info_change(session: Session, order: Order) -> InfoChange:
    previous = last_approved_order(session, order)
    if previous is None:
        return InfoChange(None, [], [])
    if order.personal:
        return InfoChange(previous, _holder_rows(order.holder, previous.holder), [])
    o, p = order.organisation, previous.organisation
    lr, plr = order.legal_rep, previous.legal_rep
    rows = [
        _row(_l("Organisation name"), p.name, o.name),
        _row(_l("Legal representative"), plr.name, lr.name),
        Row(str(_l("Legal representative's ID number")), plr.id_number_masked, lr.id_number_masked,
            plr.id_number_digest != lr.id_number_digest),
        _row(_l("Legal representative's phone"), plr.phone or "", lr.phone or ""),
    ]
    earlier, now = current_materials(session, previous), current_materials(session, order)
    documents = [DocumentPair(kind, earlier[kind], previous.number, now[kind])
                 for kind in COMPARED_DOCUMENTS if kind in earlier and kind in now]
    return InfoChange(previous, rows, documents)


def _holder_rows(holder: Person, before: Person) -> list[Row]:
    return [
        _row(_l("Holder"), before.name, holder.name),
        Row(str(_l("Holder's ID number")), before.id_number_masked, holder.id_number_masked,
            before.subject_serial != holder.subject_serial),
        _row(_l("Mobile phone"), before.phone or "", holder.phone or ""),
        _row(_l("E-mail"), before.email or "", holder.email or ""),
    ]


def _row(label, old: str, new: str) -> Row:
    return Row(str(label), old, new, old != new)
