"""An after-sale order that continues the order a certificate came with (a revocation, an unlock): the
earlier order's data copied into rows of the new order's own, for a unit certificate (its organisation,
legal representative and agent) or a personal one (its holder), so that its retention and edits never
touch the earlier order's."""
from __future__ import annotations

from sqlalchemy.orm import Session

from models import BusinessType, Order, OrderStatus, Organisation, Person, next_order_number
from public import catalogue
from public.operations import session_hash

_ORDER_FIELDS = ("product", "media_type", "media_model", "identity_method", "agent_identity_method", "account_name",
                 "account_number", "bank_name", "bank_province", "bank_city", "invoice_taxpayer_id",
                 "invoice_address_phone", "invoice_bank_account", "mailing_province", "mailing_city",
                 "mailing_address")


def continuing(session: Session, earlier: Order, business_type: BusinessType, *, applicant_secret: str,
               certificate_id: int | None) -> Order:
    """A new order of `business_type` continuing `earlier` (awaiting materials, not added yet), at the price
    of its business type for the earlier order's product, channel and key (LookupError: not offered)."""
    price_cents = catalogue.price_cents(session, earlier.product, earlier.channel, business_type,
                                        earlier.media_model)
    order = Order(number=next_order_number(session, earlier.cert_kind), business_type=business_type,
                  cert_kind=earlier.cert_kind, status=OrderStatus.AWAITING_MATERIALS, channel=earlier.channel,
                  applicant_session_hash=session_hash(applicant_secret), previous_order=earlier,
                  certificate_id=certificate_id, price_cents=price_cents)
    for name in _ORDER_FIELDS:
        setattr(order, name, getattr(earlier, name))
    order.agent = copy_person(earlier.agent)
    if earlier.legal_rep is not None:
        order.legal_rep = copy_person(earlier.legal_rep)
    if earlier.organisation is not None:
        o = earlier.organisation
        order.organisation = Organisation(name=o.name, department=o.department, credit_code=o.credit_code,
                                          region_province=o.region_province, region_city=o.region_city,
                                          phone=o.phone)
    return order


def copy_person(person: Person) -> Person:
    return Person(role=person.role, name=person.name, phone=person.phone, email=person.email,
                  id_type=person.id_type, id_number=person.id_number, bank_card_number=person.bank_card_number)
