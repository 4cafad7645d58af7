"""Renewal (证书更新) online: the key login (public.key_work) identified the organisation's certificate on
its key; the form takes the contact data and the seal services, the agent signs with the SMS code and
pays; the new certificate is made on the same key by the key helper (the order needs no review:
models.business.needs_review).

The renewal continues the certificate's order (previous_order_id) and names the certificate
(certificate_id); its organisation and legal representative are the earlier order's, unchanged (the
signing service checks the subject is). The new validity runs from the earlier end date while the
certificate is in force, from issuance once it has expired (issuance.policy).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from issuance.policy import add_months
from models import BusinessType, Certificate, HelperSession, Order
from models.base import utcnow
from public import catalogue, operations

# What the renewal form may change of the earlier order: the contact and mailing data.
CONTACT_FIELDS = ("agent_name", "agent_phone", "agent_id_type", "agent_id_number", "agent_email",
                  "mailing_province", "mailing_city", "mailing_address")


class NotRenewable(Exception):
    """The session has no certificate to renew (not logged in, or an order made already)."""


def earlier_order(session: Session, helper: HelperSession) -> Order:
    return session.get(Order, helper.certificate.order_id)


def price_cents(session: Session, earlier: Order) -> int | None:
    """The renewal of the earlier order's product in its channel; None when it is not offered."""
    try:
        return catalogue.price_cents(session, earlier.product, earlier.channel, BusinessType.RENEWAL,
                                     earlier.media_model)
    except LookupError:
        return None


def new_validity(certificate: Certificate, months: int, now: dt.datetime | None = None) -> tuple[dt.datetime,
                                                                                                   dt.datetime]:
    """What the signing service will issue: from now, to the earlier end date plus the product's months
    while the certificate is in force, else to now plus the months."""
    now = now or utcnow()
    start = certificate.not_after if certificate.not_after > now else now
    return now, add_months(start, months)


def contact_values(order: Order) -> dict:
    data = operations.form_data(order)
    return {name: data[name] for name in CONTACT_FIELDS} | {"seal_services": list(order.seal_services or [])}


def submit_renewal(session: Session, helper: HelperSession, values: dict, *, actor: str,
                   applicant_secret: str) -> Order:
    """The renewal order from the earlier one and the form's contact data: it awaits the agent's SMS
    signature (no documents: the key login identified the certificate)."""
    if helper.logged_in_at is None or helper.order is not None:
        raise NotRenewable(helper.public_id)
    earlier = earlier_order(session, helper)
    data = operations.form_data(earlier) | {name: values[name] for name in CONTACT_FIELDS}
    order = operations.submit_application(session, earlier.channel, data, actor=actor,
                                          applicant_secret=applicant_secret, business_type=BusinessType.RENEWAL)
    order.previous_order_id, order.certificate_id = earlier.id, helper.certificate_id
    order.seal_services = list(values.get("seal_services") or [])
    helper.order = order
    operations.finish_materials(session, order, actor=actor)
    session.flush()
    return order
