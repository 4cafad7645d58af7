"""A personal certificate's after-sale order (renewal, information change) continues the earlier order's
holder: a copy of the person, their ID type and number unchanged (the certificate's serialNumber is made of
them), with the contact and mailing data the form gives. A personal order has no organisation, legal
representative, corporate account or taxpayer ID: they stay None."""
from __future__ import annotations

from sqlalchemy.orm import Session

from models import BusinessType, Order, record
from public import continuation

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
                   applicant_secret: str) -> Order:
    """A new order of `business_type` continuing the earlier order (public.continuation: its holder's copy,
    product and key), awaiting materials; the values given (FIELDS) replace the earlier ones."""
    data = values_of(earlier) | {name: values[name] for name in FIELDS if name in values}
    order = continuation.continuing(session, earlier, business_type, applicant_secret=applicant_secret,
                                    certificate_id=None)
    order.agent.name, order.agent.phone, order.agent.email = (data["holder_name"], data["holder_phone"],
                                                              data["holder_email"])
    order.mailing_province, order.mailing_city, order.mailing_address = (
        data["mailing_province"], data["mailing_city"], data["mailing_address"])
    session.add(order)
    record(session, actor, "order.created", order=order, after={"status": str(order.status), "number": order.number})
    session.flush()
    return order
