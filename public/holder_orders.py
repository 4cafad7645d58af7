"""A personal certificate's after-sale order (renewal, information change) continues the earlier order's
holder: a copy of the person, their ID type and number unchanged (the certificate's serialNumber is made of
them), with the contact and mailing data the form gives. A personal order has no organisation, legal
representative, corporate account or taxpayer ID: they stay None."""
from __future__ import annotations

from sqlalchemy.orm import Session

from models import AuditEntry, BusinessType, Order, OrderStatus, Person, PersonRole, next_order_number
from public import catalogue
from public.operations import session_hash

# What the holder's contact form may change: the holder's phone and e-mail and the mailing address; an
# information change may change the name too (a legal change of name).
CONTACT_FIELDS = ("holder_phone", "holder_email", "mailing_province", "mailing_city", "mailing_address")
FIELDS = ("holder_name", *CONTACT_FIELDS)


def values_of(order: Order) -> dict:
    """The personal order's holder and mailing data as form values."""
    holder = order.holder
    return {"holder_name": holder.name, "holder_phone": holder.phone or "", "holder_email": holder.email or "",
            "mailing_province": order.mailing_province, "mailing_city": order.mailing_city,
            "mailing_address": order.mailing_address}


def continue_order(session: Session, earlier: Order, business_type: BusinessType, values: dict, *, actor: str,
                   applicant_secret: str | None) -> Order:
    """A new order of `business_type` for the earlier order's holder and product, awaiting materials; the
    values given (FIELDS) replace the earlier ones."""
    data = values_of(earlier) | {name: values[name] for name in FIELDS if name in values}
    before = earlier.holder
    holder = Person(role=PersonRole.HOLDER, name=data["holder_name"], phone=data["holder_phone"],
                    email=data["holder_email"], id_type=before.id_type, id_number=before.id_number,
                    bank_card_number=before.bank_card_number)
    order = Order(number=next_order_number(session, earlier.cert_kind), business_type=business_type,
                  cert_kind=earlier.cert_kind, status=OrderStatus.AWAITING_MATERIALS, channel=earlier.channel,
                  product=earlier.product, media_type=earlier.media_type, media_model=earlier.media_model,
                  agent_identity_method=earlier.agent_identity_method, agent=holder,
                  invoice_address_phone=earlier.invoice_address_phone,
                  mailing_province=data["mailing_province"], mailing_city=data["mailing_city"],
                  mailing_address=data["mailing_address"],
                  applicant_session_hash=session_hash(applicant_secret) if applicant_secret else None,
                  price_cents=catalogue.price_cents(session, earlier.product, earlier.channel, business_type,
                                                    earlier.media_model))
    session.add(order)
    order.audit_entries.append(AuditEntry(actor=actor, action="order.created",
                                          after={"status": str(order.status), "number": order.number}))
    session.flush()
    return order
