"""Which after-sale services (the home page's 更新, 解锁, 变更, 补办, 吊销) an order of the order query
allows: the results page offers them beside the order."""
from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import BusinessType, Certificate, CertificateStatus, Order
from models.base import utcnow
from models.order_state import CLOSED
from models.renewal import renewable
from public import revocation
from public.order_query import QueryIdentity, QueryResults
from public.replacement import KEY_SENT

# Unlock and information change: the key at the applicant's PC (information change: by the order query's
# identity too, the key needed only to write the new certificate).
KEY_SERVICES = ("unlock", "change")
# The after-sale orders that, while open, stop another of their kind for the same certificate.
ONE_OPEN_AT_A_TIME = (BusinessType.REPLACEMENT, BusinessType.REVOCATION)


def _open_after_sale(session: Session, certificate_ids: Collection[int]) -> set[tuple[int, BusinessType]]:
    """(certificate id, business type) of the open replacement and revocation orders of these
    certificates, in one statement (replacement.open_replacement and revocation.open_revocation, for many)."""
    if not certificate_ids:
        return set()
    return {(certificate_id, business_type) for certificate_id, business_type in session.execute(
        select(Order.certificate_id, Order.business_type).where(
            Order.certificate_id.in_(certificate_ids), Order.business_type.in_(ONE_OPEN_AT_A_TIME),
            Order.status.not_in(CLOSED)))}


def _in_force(order: Order, certificate: Certificate | None) -> bool:
    return (certificate is not None and order.status in KEY_SENT
            and certificate.status is CertificateStatus.VALID)


def actions(session: Session, identity: QueryIdentity, order: Order, certificate: Certificate | None,
            open_after_sale: set[tuple[int, BusinessType]] | None = None) -> tuple[str, ...]:
    """None before the order's key is out, or once its certificate (the order's latest) is revoked or
    superseded; renewal in its window (models.renewal: an expired certificate allows nothing else);
    replacement (replacement.may_replace) and revocation (revocation.may_revoke) unless one of them is
    open for the certificate already, revocation only for whom revocation.may_ask (an organisation found
    by its credit code, not one of its agents by their own ID; a personal certificate's holder).
    `open_after_sale`: _open_after_sale of the certificate, when the caller found it for many at once."""
    if not _in_force(order, certificate):
        return ()
    now = utcnow()
    found = ["renewal"] if renewable(certificate.not_after, now) else []
    if certificate.not_after <= now:
        return tuple(found)
    found += KEY_SERVICES
    if open_after_sale is None:
        open_after_sale = _open_after_sale(session, [certificate.id])
    # The order's latest certificate, valid and unexpired, its key sent: the one replacement.may_replace finds.
    if (certificate.id, BusinessType.REPLACEMENT) not in open_after_sale:
        found.append("replacement")
    if revocation.may_ask(identity) and (certificate.id, BusinessType.REVOCATION) not in open_after_sale:
        found.append("revocation")
    return tuple(found)


def actions_of(session: Session, identity: QueryIdentity, results: QueryResults) -> dict[int, tuple[str, ...]]:
    """Order id -> its after-sale services, for every order of the results (one statement for all)."""
    rows = (*results.unfinished, *results.history)
    open_after_sale = _open_after_sale(
        session, [row.certificate.id for row in rows if _in_force(row.order, row.certificate)])
    return {row.order.id: actions(session, identity, row.order, row.certificate, open_after_sale) for row in rows}
