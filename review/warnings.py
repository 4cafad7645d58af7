"""What the system flags on the review screen before a reviewer decides."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from models import BusinessType, Certificate, DenyListEntry, Order, Organisation, Person
from models.holders import same_applicant
from models.order_state import CLOSED


@dataclass(frozen=True)
class Warning:
    code: str  # open_order, valid_certificate, deny_list, phone_reused
    detail: dict

    @property
    def severity(self) -> str:
        return "danger" if self.code == "deny_list" else "warning"


def people(order: Order) -> list[tuple[str, Person]]:
    """The order's people by their place: a unit's legal representative and agent, a person's holder."""
    if order.personal:
        return [("holder", order.holder)]
    return [("legal_rep", order.legal_rep), ("agent", order.agent)]


def deny_list_matches(session: Session, order: Order) -> list[str]:
    """Who of the order's people ("legal_rep", "agent"; "holder") has an ID number on the active deny list."""
    digests = {person.id_number_digest for _who, person in people(order) if person.id_number_digest}
    denied = set(session.scalars(select(DenyListEntry.id_number_digest).where(
        DenyListEntry.id_number_digest.in_(digests), DenyListEntry.active.is_(True)))) if digests else set()
    return [who for who, person in people(order) if person.id_number_digest in denied]


def warnings_for(session: Session, order: Order, *, now: dt.datetime, phone_reuse_limit: int) -> list[Warning]:
    found: list[Warning] = []
    others = session.scalars(
        same_applicant(select(Order.number), order)
        .where(Order.id != order.id, Order.status.not_in(CLOSED))
        .order_by(Order.id).limit(5)).all()
    if others:
        found.append(Warning("open_order", {"orders": list(others)}))
    if order.business_type == BusinessType.NEW:
        valid = session.scalars(
            same_applicant(select(Certificate.serial_number).join(Order, Certificate.order_id == Order.id), order)
            .where(Certificate.status == "valid", Certificate.not_after > now).limit(3)).all()
        if valid:
            found.append(Warning("valid_certificate", {"serials": list(valid)}))
    named = dict(people(order))
    for who in deny_list_matches(session, order):
        found.append(Warning("deny_list", {"person": who, "name": named[who].name}))
    using = _organisations_using_phones(session, {person.phone for _who, person in people(order) if person.phone})
    for who, person in people(order):
        count = using.get(person.phone, 0)
        if person.phone and count >= phone_reuse_limit:
            found.append(Warning("phone_reused", {"person": who, "phone": person.phone_masked,
                                                  "organisations": count}))
    return found


def _organisations_using_phones(session: Session, phones: set[str]) -> dict[str, int]:
    """How many organisations (by credit code) name each phone number on a legal representative or agent."""
    if not phones:
        return {}
    person = aliased(Person)
    return dict(session.execute(
        select(person.phone, func.count(func.distinct(Organisation.credit_code)))
        .select_from(Order)
        .join(person, or_(Order.legal_rep_id == person.id, Order.agent_id == person.id))
        .join(Organisation, Order.organisation_id == Organisation.id)
        .where(person.phone.in_(phones))
        .group_by(person.phone)).all())
