"""Whose orders are one applicant's: a unit certificate's by the organisation's credit code, a personal
certificate's by the holder's subject serial (models.sealed.subject_serial: a keyed digest of the ID type
and number, never the number itself). The name a row shows of whose order it is: models.holders."""
from __future__ import annotations

from sqlalchemy import false

from models import CertKind, Order, Organisation
from models.holders import holder


def same_applicant(query, order: Order):
    """`query` over Order narrowed to the orders of `order`'s organisation, or of its holder (`order`
    itself included); nothing when the order no longer names one (its data removed by retention)."""
    if order.personal:
        serial = order.holder.subject_serial
        return query.join(holder, Order.agent_id == holder.id).where(
            Order.cert_kind == CertKind.PERSONAL, holder.subject_serial == serial if serial else false())
    credit_code = order.organisation.credit_code if order.organisation else None
    return query.join(Organisation, Order.organisation_id == Organisation.id).where(
        Organisation.credit_code == credit_code if credit_code else false())
