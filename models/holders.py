"""Whose order it is, in SQL, for the lists that select an order's columns (Order.holder_name in Python):
the organisation's name for a unit certificate, the holder's for a personal one."""
from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.orm import aliased

from models.order import Order
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
