"""Replacing a lost or damaged key (补办): which of an ID's orders may be replaced, the replacement
order made from the form the earlier order filled in, and a new payment proof after finance
refused one.

A replacement continues the earlier order (previous_order_id) and names the certificate it
replaces (certificate_id), revoked on approval with the cause's RFC 5280 reason: keyCompromise
for a lost key (whoever finds it holds the key), superseded for a damaged one. It is paid by a
bank transfer made beforehand, matched by finance (billing.transfers), in the earlier order's
channel at the catalogue's replacement price.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing import transfers
from documents.materials import CheckedImage
from documents.storage import DocumentStore
from models import (
    BusinessType,
    Certificate,
    CertificateStatus,
    Material,
    MaterialKind,
    MediaModel,
    Order,
    OrderStatus,
    RevocationReason,
)
from models.base import utcnow
from models.order_state import CLOSED
from public import catalogue, operations
from public import order_query as queries

CAUSES = {"lost": RevocationReason.KEY_COMPROMISE, "damaged": RevocationReason.SUPERSEDED}
# The key went out: what a replacement replaces.
KEY_SENT = frozenset({OrderStatus.SHIPPED, OrderStatus.COMPLETED})


class NotReplaceable(Exception):
    """The order has no certificate to replace now (none in force, or a replacement is open)."""


def replaceable_certificate(session: Session, order: Order) -> Certificate | None:
    """The order's certificate in force (neither revoked, superseded nor expired), if its key went out."""
    if order.status not in KEY_SENT:
        return None
    return session.scalars(select(Certificate).where(
        Certificate.order_id == order.id, Certificate.status == CertificateStatus.VALID,
        Certificate.not_after > utcnow()).order_by(Certificate.id.desc())).first()


def open_replacement(session: Session, certificate: Certificate) -> Order | None:
    return session.scalars(select(Order).where(
        Order.business_type == BusinessType.REPLACEMENT, Order.certificate_id == certificate.id,
        Order.status.not_in(CLOSED))).first()


def may_replace(session: Session, order: Order) -> bool:
    """The one rule: a shipped or completed order whose certificate is in force, with no
    replacement of it open already."""
    certificate = replaceable_certificate(session, order)
    return certificate is not None and open_replacement(session, certificate) is None


def replaceable_rows(session: Session, identity: queries.QueryIdentity) -> list[queries.OrderRow]:
    """The ID's orders (as the order query finds them) that may be replaced, newest first."""
    results = queries.query_results(session, identity)
    rows = sorted(results.unfinished + results.history, key=lambda r: (r.order.created_at, r.order.id), reverse=True)
    return [row for row in rows if may_replace(session, row.order)]


def prices(session: Session, earlier: Order, media_models: list[MediaModel]) -> list[tuple[MediaModel | None, int]]:
    """What a replacement of the earlier order's product costs in its channel, with each key model
    the CA sends and with the applicant's own key (None); empty when it is not offered."""
    try:
        return [(media, catalogue.price_cents(session, earlier.product, earlier.channel, BusinessType.REPLACEMENT,
                                              media)) for media in [*media_models, None]]
    except LookupError:
        return []


def submit_replacement(session: Session, earlier: Order, data: dict, cause: str, *, actor: str,
                       applicant_secret: str) -> Order:
    """The replacement order, from the form the earlier order filled in (and the applicant
    corrected), in the earlier order's channel; it awaits materials and the payment proof."""
    certificate = replaceable_certificate(session, earlier)
    if certificate is None or open_replacement(session, certificate) is not None:
        raise NotReplaceable(earlier.number)
    order = operations.submit_application(session, earlier.channel, data, actor=actor,
                                          applicant_secret=applicant_secret, business_type=BusinessType.REPLACEMENT)
    order.previous_order_id = earlier.id
    order.certificate_id = certificate.id
    order.revocation_reason = int(CAUSES[cause])
    session.flush()
    return order


def update_replacement(session: Session, order: Order, data: dict, cause: str, *, actor: str) -> Order:
    """'Return to edit' of a replacement: the corrected form, and the cause (lost or damaged)."""
    operations.update_application(session, order, data, actor=actor)
    order.revocation_reason = int(CAUSES[cause])
    session.flush()
    return order


def cause_of(order: Order) -> str | None:
    """The form's cause of a replacement order (its revocation reason)."""
    return next((cause for cause, reason in CAUSES.items() if reason == order.revocation_reason), None)


def store_new_proof(session: Session, store: DocumentStore, order: Order, image: CheckedImage, *,
                    original_filename: str | None, actor: str) -> Material:
    """A new payment proof for a signed order whose last one finance refused."""
    if not transfers.awaiting_new_proof(session, order):
        raise operations.NotEditable(order.number)
    return operations._replace_material(session, store, order, MaterialKind.PAYMENT_PROOF, image,
                                        original_filename, actor)
