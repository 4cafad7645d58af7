"""Information change (信息变更) online: the organisation, its legal representative, the seal services, the
invoice and the contact data of a certificate in force, changed by a new INFO_CHANGE order continuing the
certificate's order (previous_order_id, certificate_id; its organisation and people are rows of its own).

Who may change: the holder of the key, by the key login (public.key_work), or the organisation by its
credit code and an SMS code to the agent's phone on file: the agent phone of the order of its newest
certificate in force (the order query's code: the page answers the same whether or not the credit code
has one, and shows the phone masked only once the code is right). The key is needed then only to write
the new certificate.

What follows is models.business's: a change of the name or the legal representative needs the documents
(MATERIALS), the SMS signature, payment where the catalogue prices it, and two senior reviewers
(review.dual_control); a change of anything else needs neither documents nor review. A new key pair and
certificate is made on the same key only when the certificate's subject changes (name, or region:
models.business.new_certificate_needed) — a legal representative, seal services, invoice or contact data
are not in the certificate, so a new one would say exactly what the one in force says; such an order is
done once approved, and the certificate in force stays. With a new certificate, the earlier one is
superseded once the new one is on the key (public.key_work.finish).

A personal certificate's (个人数字证书): the holder's name (a legal change of name), phone, e-mail and mailing
address; their ID type and number are not changeable (another ID is another person). The holder is identified
by the key login, or by their ID type and number and the SMS code to their phone on file. A change of name
needs their ID card and the review (the personal queue, two senior reviewers) and makes a new certificate
with the new name; a change of contact data neither (public.holder_orders continues the order).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    BusinessType,
    Certificate,
    CertificateStatus,
    CertKind,
    HelperSession,
    IdType,
    Order,
    Organisation,
    Person,
)
from models.base import utcnow
from models.business import KEY_WORK_STATION, materials_of, new_certificate_needed
from models.order_state import CLOSED
from models.sealed import lookup_digest
from public import catalogue, holder_orders, operations, sms_codes
from public import order_query as queries
from public.key_helper import KEY_OUT
from public.renewal import CONTACT_FIELDS
from web.errors import N_

ORGANISATION_FIELDS = ("org_name", "org_department", "region_province", "region_city", "org_phone")
LEGAL_REP_FIELDS = ("legal_rep_name", "legal_rep_phone", "legal_rep_id_type", "legal_rep_id_number")
INVOICE_FIELDS = ("invoice_taxpayer_id", "invoice_address_phone", "invoice_bank_account")
# What the form may change of the certificate's order.
FIELDS = ORGANISATION_FIELDS + LEGAL_REP_FIELDS + INVOICE_FIELDS + CONTACT_FIELDS


class Refused(Exception):
    """A change the page answers with `message` (N_, translated where shown)."""

    message = ""


class NothingChanged(Refused):
    message = N_("Nothing was changed: change at least one value, or leave the page.")


class NotChangeable(Refused):
    message = N_("This certificate can no longer be changed online: it is revoked, expired or replaced, or a "
                 "change of it is under way (continue it from the order query).")


class NotOffered(Refused):
    message = N_("Information change of this certificate is not offered online. Please call the service phone.")


def earlier_order(session: Session, certificate: Certificate) -> Order:
    return session.get(Order, certificate.order_id)


def price_cents(session: Session, earlier: Order) -> int | None:
    """The change of the earlier order's product in its channel; None when it is not offered."""
    try:
        return catalogue.price_cents(session, earlier.product, earlier.channel, BusinessType.INFO_CHANGE,
                                     earlier.media_model)
    except LookupError:
        return None


def open_change(session: Session, certificate: Certificate) -> Order | None:
    return session.scalars(select(Order).where(
        Order.certificate_id == certificate.id, Order.business_type == BusinessType.INFO_CHANGE,
        Order.status.not_in(CLOSED))).first()


def changeable(session: Session, certificate: Certificate, now: dt.datetime | None = None) -> bool:
    """Valid, not expired, its key out, and no change of it open."""
    return (certificate.status is CertificateStatus.VALID and certificate.not_after > (now or utcnow())
            and earlier_order(session, certificate).status in KEY_OUT and open_change(session, certificate) is None)


def fields_of(earlier: Order) -> tuple[str, ...]:
    """What the form may change: a unit's FIELDS and seal services; a person's name and contact data
    (public.holder_orders.FIELDS)."""
    return holder_orders.FIELDS if earlier.personal else (*FIELDS, "seal_services")


def form_values(earlier: Order) -> dict:
    if earlier.personal:
        return holder_orders.values_of(earlier)
    data = operations.form_data(earlier)
    return {name: data[name] for name in FIELDS} | {"seal_services": list(earlier.seal_services or [])}


def changes(earlier: Order, values: dict) -> list[str]:
    """The fields whose value differs from the certificate's order."""
    before = form_values(earlier)
    changed = [name for name in fields_of(earlier) if name != "seal_services"
               and (values.get(name) or "") != (before[name] or "")]
    if "seal_services" in before and set(values.get("seal_services") or []) != set(before["seal_services"]):
        changed.append("seal_services")
    return changed


def submit_change(session: Session, certificate: Certificate, values: dict, *, actor: str,
                  applicant_secret: str, helper: HelperSession | None = None, by_post: bool = False) -> Order:
    """The INFO_CHANGE order from the certificate's order and the form's values: it waits for the documents
    when the name or legal representative changes (models.business.materials_of), else for the agent's
    SMS signature. `helper`: the key page whose key login identified the certificate. `by_post`: the key
    is mailed in for the new certificate (when the change makes one), the station writes it."""
    earlier = earlier_order(session, certificate)
    if not changeable(session, certificate):
        raise NotChangeable(certificate.serial_number)
    if not changes(earlier, values):
        raise NothingChanged(certificate.serial_number)
    if price_cents(session, earlier) is None:
        raise NotOffered(earlier.product.code)
    if earlier.personal:
        order = holder_orders.continue_order(session, earlier, BusinessType.INFO_CHANGE, values, actor=actor,
                                             applicant_secret=applicant_secret)
        order.seal_services = list(earlier.seal_services or [])
    else:
        order = _unit_change(session, earlier, values, actor=actor, applicant_secret=applicant_secret)
        order.seal_services = list(values.get("seal_services") or [])
    order.previous_order, order.certificate = earlier, certificate
    if helper is not None:
        helper.order = order
    elif by_post and new_certificate_needed(order):
        order.key_work = KEY_WORK_STATION
    if not materials_of(order):
        operations.finish_materials(session, order, actor=actor)
    session.flush()
    return order


def _unit_change(session: Session, earlier: Order, values: dict, *, actor: str, applicant_secret: str) -> Order:
    data = operations.form_data(earlier) | {name: values[name] for name in FIELDS}
    lr = earlier.legal_rep
    if (data["legal_rep_name"], data["legal_rep_id_number"]) != (lr.name, lr.id_number):
        data["legal_rep_bank_card"] = ""  # the earlier representative's card is not the new one's
    return operations.submit_application(session, earlier.channel, data, actor=actor,
                                         applicant_secret=applicant_secret, business_type=BusinessType.INFO_CHANGE)


# --- identity by credit code (or a person's ID) and the SMS code to the phone on file ---------------------


def _in_force(query, now: dt.datetime | None = None):
    """Valid, unexpired certificates whose key went out, the newest first (`query` joins their orders)."""
    return (query.where(Order.status.in_(KEY_OUT), Certificate.status == CertificateStatus.VALID,
                        Certificate.not_after > (now or utcnow()))
            .order_by(Certificate.not_before.desc(), Certificate.id.desc()))


def certificates_in_force(session: Session, credit_code: str) -> list[Certificate]:
    """The organisation's unit certificates in force."""
    return list(session.scalars(_in_force(
        select(Certificate).join(Order, Certificate.order_id == Order.id)
        .join(Organisation, Order.organisation_id == Organisation.id)
        .where(Organisation.credit_code == credit_code, Order.cert_kind == CertKind.UNIT))))


def identity_on_file(session: Session, credit_code: str) -> queries.QueryIdentity:
    """The order query's identity of the organisation with the agent phone on file (of its newest certificate
    in force's order); an empty phone when it has none, so that no code goes anywhere."""
    found = certificates_in_force(session, credit_code)
    phone = earlier_order(session, found[0]).agent.phone if found else ""
    return queries.QueryIdentity.of(CertKind.UNIT.value, queries.CREDIT_CODE, credit_code, phone)


def personal_certificates_in_force(session: Session, id_type: str, id_number: str) -> list[Certificate]:
    """The person's (by ID type and number) personal certificates in force."""
    return list(session.scalars(_in_force(
        select(Certificate).join(Order, Certificate.order_id == Order.id).join(Person, Order.agent_id == Person.id)
        .where(Person.id_number_digest == lookup_digest(id_number), Person.id_type == IdType(id_type),
               Order.cert_kind == CertKind.PERSONAL))))


def personal_identity_on_file(session: Session, id_type: str, id_number: str) -> queries.QueryIdentity:
    """The order query's identity of a personal certificate's holder with their phone on file (of their
    newest certificate in force's order); an empty phone when they have none, so that no code goes anywhere."""
    found = personal_certificates_in_force(session, id_type, id_number)
    phone = earlier_order(session, found[0]).holder.phone if found else ""
    return queries.QueryIdentity.of(CertKind.PERSONAL.value, id_type, id_number, phone)


def send_code(session: Session, policy: sms_codes.CodePolicy, identity: queries.QueryIdentity, *,
              client_ip: str | None) -> None:
    """The order query's code to the phone on file, if there is one (the caller answers the same either way)."""
    if identity.phone:
        queries.send_query_code(session, policy, identity, client_ip=client_ip)


def check_code(session: Session, policy: sms_codes.CodePolicy, identity: queries.QueryIdentity, code: str) -> None:
    if not identity.phone:
        raise sms_codes.CodeInvalid(queries.CODE_REJECTED)
    queries.check_query_code(session, policy, identity, code)


def certificates_of(session: Session, identity: queries.QueryIdentity) -> list[Certificate]:
    """The certificates in force of the orders the identity sees (the order query's: by credit code, or by
    the agent's own ID, with the agent's phone)."""
    orders = [order.id for order in queries.find_orders(session, identity)]
    if not orders:
        return []
    return list(session.scalars(_in_force(
        select(Certificate).join(Order, Certificate.order_id == Order.id).where(Order.id.in_(orders)))))


def certificate_of(session: Session, identity: queries.QueryIdentity, serial: str) -> Certificate | None:
    """The certificate with this serial, if it is in force and one of the identity's."""
    return next((c for c in certificates_of(session, identity) if c.serial_number == serial.lower()), None)
