"""Whose order it is, in SQL: the name lists show (Order.holder_name in Python: the organisation's for a
unit certificate, the holder's for a personal one), and which orders are one applicant's (a unit
certificate's by the organisation's credit code, a personal certificate's by the holder's subject serial:
models.sealed.subject_serial, a keyed digest of the ID type and number, never the number itself)."""
from __future__ import annotations

from sqlalchemy import false, func
from sqlalchemy.orm import aliased

from models.order import Order
from models.order_state import CertKind
from models.organisation import Organisation
from models.person import Person

# The person in an order's agent place: a personal certificate's holder.
holder = aliased(Person, name="holder")
# Order.holder_name in a query joined by with_holder.
HOLDER_NAME = func.coalesce(Organisation.name, holder.name)


def with_holder(query):
    """`query` over Order joined with its organisation (a personal order has none) and its holder."""
    return (query.outerjoin(Organisation, Order.organisation_id == Organisation.id)
            .join(holder, Order.agent_id == holder.id))


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
