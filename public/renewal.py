"""Renewal (证书更新) online: the key login (public.key_work) identified the organisation's (or the
person's) certificate on its key; the form takes the contact data and the seal services, the agent (or
the holder) signs with the SMS code and pays; the new certificate is made on the same key by the key
helper (the order needs no review: models.business.needs_review).

Renewal by post: the order query's SMS code identified the applicant, who chose an order whose
certificate it offers to renew (public.after_sale); the same form and payment, then the key is mailed
to the CA and programmed at the station (Order.key_work "station"), which mails it back. The station
re-initialises the key with the SO PIN on file, so the key gets a new password (sent on approval, as a
new key's).

The renewal continues the certificate's order (previous_order_id) and names the certificate
(certificate_id); its organisation and legal representative are the earlier order's, unchanged (the
signing service checks the subject is); a personal certificate's holder is the earlier order's person, with
the contact data of the form (public.holder_orders). The new validity runs from the earlier end date while the
certificate is in force, from issuance once it has expired (issuance.policy).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuance.policy import add_months
from models import BusinessType, Certificate, HelperSession, Order
from models.base import utcnow
from models.business import KEY_WORK_STATION
from models.order_state import CLOSED
from public import after_sale, catalogue, holder_orders, operations
from public.order_query import QueryIdentity

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


def contact_fields(order: Order) -> tuple[str, ...]:
    """What the renewal form of the order's certificate may change: a unit's agent and mailing data, a
    person's own phone, e-mail and mailing data (their name and ID are the certificate's)."""
    return holder_orders.CONTACT_FIELDS if order.personal else CONTACT_FIELDS


def contact_values(order: Order) -> dict:
    data = holder_orders.values_of(order) if order.personal else operations.form_data(order)
    return {name: data[name] for name in contact_fields(order)} | {"seal_services": list(order.seal_services or [])}


def submit_renewal(session: Session, helper: HelperSession, values: dict, *, actor: str,
                   applicant_secret: str) -> Order:
    """The renewal order from the earlier one and the form's contact data: it awaits the agent's SMS
    signature (no documents: the key login identified the certificate)."""
    if helper.logged_in_at is None or helper.order is not None:
        raise NotRenewable(helper.public_id)
    order = _renewal_order(session, earlier_order(session, helper), helper.certificate, values, actor=actor,
                           applicant_secret=applicant_secret)
    helper.order = order
    operations.finish_materials(session, order, actor=actor)
    session.flush()
    return order


def _renewal_order(session: Session, earlier: Order, certificate: Certificate, values: dict, *, actor: str,
                   applicant_secret: str) -> Order:
    if earlier.personal:
        order = holder_orders.continue_order(session, earlier, BusinessType.RENEWAL,
                                             {name: values[name] for name in holder_orders.CONTACT_FIELDS},
                                             actor=actor, applicant_secret=applicant_secret)
    else:
        data = operations.form_data(earlier) | {name: values[name] for name in CONTACT_FIELDS}
        order = operations.submit_application(session, earlier.channel, data, actor=actor,
                                              applicant_secret=applicant_secret, business_type=BusinessType.RENEWAL)
    order.previous_order_id, order.certificate_id = earlier.id, certificate.id
    order.seal_services = list(values.get("seal_services") or [])
    return order


# --- by post ------------------------------------------------------------------------------------------


def certificate_to_renew(session: Session, identity: QueryIdentity, earlier: Order) -> Certificate | None:
    """The earlier order's certificate (the order query's: its latest) when the query offers to renew it
    (public.after_sale) and no renewal of it is under way."""
    certificate = session.scalars(select(Certificate).where(Certificate.order_id == earlier.id)
                                  .order_by(Certificate.id.desc())).first()
    if certificate is None or "renewal" not in after_sale.actions(session, identity, earlier, certificate):
        return None
    under_way = session.scalar(select(Order.id).where(
        Order.business_type == BusinessType.RENEWAL, Order.certificate_id == certificate.id,
        Order.status.not_in(CLOSED)).limit(1))
    return None if under_way else certificate


def submit_renewal_by_post(session: Session, earlier: Order, certificate: Certificate, values: dict, *,
                           actor: str, applicant_secret: str) -> Order:
    """The renewal order of a key to be mailed in (the station does its key work): it awaits the agent's
    SMS signature."""
    order = _renewal_order(session, earlier, certificate, values, actor=actor, applicant_secret=applicant_secret)
    order.key_work = KEY_WORK_STATION
    operations.finish_materials(session, order, actor=actor)
    session.flush()
    return order
