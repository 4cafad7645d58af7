"""Whose order it is, in SQL, for the lists that select an order's columns (Order.holder_name in
Python): the organisation's name for a unit certificate, the holder's for a personal one."""
from __future__ import annotations

from sqlalchemy import Select, and_, func
from sqlalchemy.orm import aliased

from models import CertKind, Order, Organisation, Person

_HOLDER = aliased(Person, name="holder")
HOLDER_NAME = func.coalesce(Organisation.name, _HOLDER.name)


def with_holder(query: Select) -> Select:
    """`query` (which selects from Order) joined to what HOLDER_NAME reads: the organisation, and for a
    personal order the person in the agent's place."""
    return (query.outerjoin(Organisation, Organisation.id == Order.organisation_id)
            .outerjoin(_HOLDER, and_(Order.cert_kind == CertKind.PERSONAL, _HOLDER.id == Order.agent_id)))
