"""Which after-sale services (the home page's 更新, 解锁, 变更, 补办, 吊销) an order of the order query
allows: the results page offers them beside the order."""
from __future__ import annotations

from sqlalchemy.orm import Session

from models import Certificate, CertificateStatus, Order, OrderStatus
from models.base import utcnow
from models.renewal import renewable
from public import replacement, revocation
from public.order_query import QueryIdentity, QueryResults

# Unlock and information change: the key at the applicant's PC (information change: by the order query's
# identity too, the key needed only to write the new certificate).
KEY_SERVICES = ("unlock", "change")


def actions(session: Session, identity: QueryIdentity, order: Order,
            certificate: Certificate | None) -> tuple[str, ...]:
    """None before the order's key is out, or once its certificate is revoked or superseded; renewal in
    its window (models.renewal: an expired certificate allows nothing else); replacement and revocation
    by their own rules, revocation only for whom revocation.may_ask (an organisation found by its credit
    code, not one of its agents by their own ID; a personal certificate's holder)."""
    if certificate is None or order.status not in (OrderStatus.SHIPPED, OrderStatus.COMPLETED):
        return ()
    if certificate.status is not CertificateStatus.VALID:
        return ()
    now = utcnow()
    found = ["renewal"] if renewable(certificate.not_after, now) else []
    if certificate.not_after <= now:
        return tuple(found)
    found += KEY_SERVICES
    if replacement.may_replace(session, order):
        found.append("replacement")
    if revocation.may_ask(identity) and revocation.may_revoke(session, certificate):
        found.append("revocation")
    return tuple(found)


def actions_of(session: Session, identity: QueryIdentity, results: QueryResults) -> dict[int, tuple[str, ...]]:
    """Order id -> its after-sale services, for every order of the results."""
    return {row.order.id: actions(session, identity, row.order, row.certificate)
            for row in (*results.unfinished, *results.history)}
