"""The signing service's own checks: it signs nothing because the web app said so, but re-checks
every request against the database it reads. Each refusal is a PolicyRefused naming its rule:

issuing (issuance.operations.issue_certificate, in this order)
    csr_invalid, csr_signature_invalid  the request is no PKCS#10 request, or not signed by its key
    job_conflict                        the job ID was used for another order or another request
    job_certificate_revoked             the job's certificate was revoked since: it is not handed out again
    order_unknown                       no order has that number
    business_type_not_issuing           an unlock or a revocation order makes no certificate
    order_not_approved                  the order is not approved (approved or being programmed)
    order_not_paid                      no paid payment, and the order is not free of charge
  a renewal or an information change (a new certificate on the same key, for the certificate it names):
    order_names_no_certificate          the order names no earlier certificate
    certificate_of_another_organisation the earlier certificate was issued to another credit code
    certificate_of_another_holder       a personal order's earlier certificate was issued to another
                                        person (another subject_serial: another ID), or to a unit
    earlier_certificate_not_valid       the earlier certificate is revoked or superseded
    earlier_certificate_succeeded       another order naming it has an unrevoked certificate already
    outside_renewal_window              a renewal more than 89 days before the earlier end, or more than
                                        365 days after it (models.renewal)
    earlier_certificate_expired         an information change of a certificate past its end
    product_has_no_profile              the product names no (active) certificate profile
    profile_invalid                     the profile names a usage or policy that cannot be encoded
    key_type_not_allowed                the request's key is not among the profile's key types
    region_unknown, name_too_long       the reviewed data makes no valid subject
    holder_unidentified                 a personal order's holder has no ID type and number on file
    subject_mismatch                    the request's subject is not the one the reviewed data makes
    subject_changed                     a renewal whose reviewed data makes another subject than the
                                        earlier certificate's (a change of name or region is an
                                        information change)
    no_issuing_ca                       no active issuing CA (the ceremony has not been held)
    validity_beyond_ca                  the product's validity would outlast the issuing CA's certificate
    order_has_certificate               the order has an unrevoked certificate from another job

revoking (issuance.operations.revoke_certificate)
    certificate_unknown                 no certificate has that serial
    reason_not_allowed                  not an RFC 5280 reason code the desk uses
    request_invalid                     a field of the call is missing, empty or too long
    officer_not_authorised              a named person is no active senior reviewer or admin
    dual_control_same_person            the one who asked and the one who confirmed are the same

revoking for an order (issuance.operations.revoke_for_order: a replacement's or a revocation's
approval, the register's dual control done by the review itself)
    order_unknown                       no order has that number
    business_type_not_revoking          only a replacement or a revocation order revokes a certificate
    order_not_approved                  the order is not approved (nor programmed, shipped or completed since)
    order_names_no_certificate          the order names no certificate to revoke
    certificate_of_another_organisation the certificate was issued to another credit code
    certificate_of_another_holder       a personal order's certificate was issued to another person
    reason_not_allowed                  no reason, or one the business type does not allow (a
                                        replacement: keyCompromise for a lost key, superseded for a damaged one)
    signature_missing                   a replacement the applicant has not signed by SMS code
    approval_missing                    no approval by an active reviewer (a replacement), or not the
                                        first and second approvals of two active senior reviewers or
                                        admins (a revocation)
    dual_control_same_person            both approvals of a revocation are one person's

superseding for an order (issuance.operations.supersede_for_order: the new certificate of a renewal or
an information change is on the key, the earlier one is marked superseded; nothing goes on the CRL)
    order_unknown                       no order has that number
    business_type_not_superseding       only a renewal or an information change supersedes a certificate
    order_names_no_certificate          the order names no earlier certificate
    certificate_of_another_organisation the earlier certificate was issued to another credit code
    certificate_of_another_holder       a personal order's earlier certificate was issued to another person
    order_certificate_missing           the order has no unrevoked certificate of its own (yet)
    earlier_certificate_not_valid       the earlier certificate is revoked, or superseded by another order
"""
from __future__ import annotations

import calendar
import datetime as dt

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, joinedload, load_only

from issuance.interfaces import PolicyRefused
from models import (
    REVIEW_ROLES,
    BusinessType,
    CaCertificate,
    Certificate,
    CertificateProfile,
    CertificateStatus,
    CertKind,
    Decision,
    Order,
    OrderStatus,
    Organisation,
    Payment,
    PaymentStatus,
    Person,
    Product,
    ReviewDecision,
    RevocationReason,
    Staff,
    StaffRole,
    Station,
)
from models.renewal import CLOSES_DAYS_EXPIRED, OPENS_DAYS_LEFT, renewable

# Who may take part in a key ceremony and confirm a revocation: two of them, never the same.
CA_OFFICER_ROLES = frozenset({StaffRole.SENIOR_REVIEWER, StaffRole.ADMIN})
# Approved, or taken by the station that asks for the certificate while it programs the key.
ISSUING_STATUSES = frozenset({OrderStatus.APPROVED, OrderStatus.PROGRAMMING})
ISSUING_BUSINESS_TYPES = frozenset({BusinessType.NEW, BusinessType.RENEWAL, BusinessType.REPLACEMENT,
                                    BusinessType.INFO_CHANGE})


# --- two people ------------------------------------------------------------------------


def officer(session: Session, who: str) -> Staff:
    """The active senior reviewer or admin named by `who`: as the audit log names staff
    ("staff:<username>", Staff.actor) or by the bare username.

    Only the columns the check needs are read: the signing service's database role may read no
    password hash or second factor of the staff table.
    """
    staff = session.scalars(select(Staff).options(load_only(Staff.username, Staff.role, Staff.active))
                            .where(Staff.username == who.removeprefix("staff:"))).first()
    if staff is None or not staff.active or staff.role not in CA_OFFICER_ROLES:
        raise PolicyRefused("officer_not_authorised", f"{who!r} is no active senior reviewer or admin")
    return staff


# A certificate that never left the station (its job wiped, its key lost to a cut-off step) is
# withdrawn by the station or fulfillment staff alone: nobody outside the CA ever held it.
UNDELIVERED_STATUSES = frozenset({OrderStatus.APPROVED, OrderStatus.PROGRAMMING, OrderStatus.PROGRAMMED})
FULFILLMENT_ROLES = frozenset({StaffRole.FULFILLMENT, StaffRole.ADMIN})


def check_withdrawer(session: Session, who: str) -> str:
    """`who` is an active station ("station:<name>", its credential live) or active fulfillment staff
    or admin ("staff:<username>" or the username); its audit name."""
    if who.startswith("station:"):
        station = session.scalars(select(Station).options(load_only(
            Station.name, Station.credential_issued_at, Station.credential_revoked_at))
            .where(Station.name == who.removeprefix("station:"))).first()
        if station is None or station.credential_issued_at is None or station.credential_revoked_at is not None:
            raise PolicyRefused("withdrawer_not_authorised", f"{who!r} is no station with a live credential")
        return who
    staff = session.scalars(select(Staff).options(load_only(Staff.username, Staff.role, Staff.active))
                            .where(Staff.username == who.removeprefix("staff:"))).first()
    if staff is None or not staff.active or staff.role not in FULFILLMENT_ROLES:
        raise PolicyRefused("withdrawer_not_authorised", f"{who!r} is no active fulfillment staff or admin")
    return staff.actor


def check_undelivered(certificate: Certificate, order: Order, job_id: str) -> None:
    if certificate.job_id != job_id:
        raise PolicyRefused("job_conflict", f"certificate {certificate.serial_number} is not job {job_id}'s")
    if order.status not in UNDELIVERED_STATUSES:
        raise PolicyRefused("certificate_delivered", f"order {order.number} is {order.status}: its certificate "
                                                     "left the station, revoke it under dual control")


def check_two_officers(first: Staff, second: Staff) -> None:
    for staff in (first, second):
        if not staff.active or staff.role not in CA_OFFICER_ROLES:
            raise PolicyRefused("officer_not_authorised", f"{staff.username!r} is no active senior reviewer or admin")
    if first.id == second.id:
        raise PolicyRefused("dual_control_same_person", f"{first.username!r} cannot be both of the two people")


def reason(code: int) -> RevocationReason:
    try:
        return RevocationReason(code)
    except ValueError:
        raise PolicyRefused("reason_not_allowed", f"{code} is none of the RFC 5280 reason codes "
                                                  f"{', '.join(str(int(r)) for r in RevocationReason)}") from None


# --- the order ---------------------------------------------------------------------------

# Whose certificate an order is for: a unit order's organisation; a personal order's holder (the person
# in the agent's place), of whom the policy reads the name and subject_serial only (never the ID number).
_HOLDER_COLUMNS = (Order.cert_kind, Order.organisation_id, Order.agent_id)


def _holder() -> tuple:
    return joinedload(Order.organisation), joinedload(Order.agent).load_only(Person.name, Person.subject_serial)



def order_to_issue(session: Session, order_number: str) -> Order:
    """The order, approved and of a business type that makes a certificate, with its product,
    profile and holder (the organisation, or the person). The sealed columns (bank numbers, the
    certificate password, an ID number) are not read: the signing service has no use for them and
    holds no key to open them."""
    order = session.scalars(
        select(Order).where(Order.number == order_number)
        .options(load_only(Order.number, Order.status, Order.business_type, Order.price_cents,
                           Order.product_id, Order.certificate_id, *_HOLDER_COLUMNS),
                 *_holder(), joinedload(Order.product).joinedload(Product.profile))
    ).first()
    if order is None:
        raise PolicyRefused("order_unknown", f"no order {order_number}")
    if order.business_type not in ISSUING_BUSINESS_TYPES:
        raise PolicyRefused("business_type_not_issuing", f"a {order.business_type} order makes no certificate")
    if order.status not in ISSUING_STATUSES:
        raise PolicyRefused("order_not_approved", f"order {order_number} is {order.status}, not approved")
    if order.price_cents and not session.scalar(select(exists().where(
            Payment.order_id == order.id, Payment.status == PaymentStatus.PAID,
            Payment.amount_cents == order.price_cents))):
        raise PolicyRefused("order_not_paid", f"order {order_number} costs {order.price_cents} cents and has "
                                              "no payment of that amount")
    _require_replaced_revoked(session, order)
    return order


def _require_replaced_revoked(session: Session, order: Order) -> None:
    """A replacement's new certificate only once the lost or damaged key's is revoked: never two
    certificates in force for one key's worth of a replacement (the revocation job may still be retrying)."""
    if order.business_type is not BusinessType.REPLACEMENT or order.certificate_id is None:
        return
    status = session.scalar(select(Certificate.status).where(Certificate.id == order.certificate_id))
    if status is not CertificateStatus.REVOKED:
        raise PolicyRefused("replaced_certificate_not_revoked", f"order {order.number} replaces a certificate "
                                                                "that is not revoked yet")


# A renewal or an information change puts a new certificate on the key of the certificate it names;
# once the new one is on the key, the earlier one is superseded (supersede_for_order).
SUCCEEDING_BUSINESS_TYPES = frozenset({BusinessType.RENEWAL, BusinessType.INFO_CHANGE})


def earlier_certificate(session: Session, order: Order, now: dt.datetime) -> Certificate | None:
    """The certificate a renewal or an information change succeeds, locked, once the rules allow a
    successor of it now (None for an order of another business type)."""
    if order.business_type not in SUCCEEDING_BUSINESS_TYPES:
        return None
    earlier = named_certificate(session, order)
    check_same_holder(session, order, earlier)
    check_earlier_valid(earlier)
    # (the order's columns named: the signing service's database role may read no others)
    if session.scalar(select(Certificate.id).join(Order, Order.id == Certificate.order_id).where(
            Order.certificate_id == earlier.id, Order.id != order.id,
            Order.business_type.in_(SUCCEEDING_BUSINESS_TYPES), Certificate.status != CertificateStatus.REVOKED)
            .limit(1)) is not None:
        raise PolicyRefused("earlier_certificate_succeeded", f"another order has a new certificate for "
                                                             f"certificate {earlier.serial_number} already")
    if order.business_type is BusinessType.RENEWAL and not renewable(earlier.not_after, now):
        raise PolicyRefused("outside_renewal_window", f"certificate {earlier.serial_number} ends "
                                                      f"{earlier.not_after:%Y-%m-%d}: renewable from "
                                                      f"{OPENS_DAYS_LEFT} days before until {CLOSES_DAYS_EXPIRED} "
                                                      "days after")
    if order.business_type is BusinessType.INFO_CHANGE and earlier.not_after <= now:
        raise PolicyRefused("earlier_certificate_expired", f"certificate {earlier.serial_number} ended "
                                                           f"{earlier.not_after:%Y-%m-%d}: renew it instead")
    return earlier


def named_certificate(session: Session, order: Order) -> Certificate:
    """The certificate the order names, locked."""
    if order.certificate_id is None:
        raise PolicyRefused("order_names_no_certificate", f"order {order.number} names no certificate")
    return session.scalars(select(Certificate).where(Certificate.id == order.certificate_id)
                           .with_for_update()).one()


def check_subject_unchanged(order: Order, subject_text: str, earlier: Certificate | None) -> None:
    """A renewal's certificate says what the earlier one said (RFC 4514 text, as the register holds it)."""
    if order.business_type is BusinessType.RENEWAL and earlier is not None and subject_text != earlier.subject:
        raise PolicyRefused("subject_changed", f"a renewal keeps the subject {earlier.subject}, not {subject_text}: "
                                               "a changed name or region is an information change")


def profile_of(order: Order) -> CertificateProfile:
    profile = order.product.profile
    if profile is None or not profile.active:
        raise PolicyRefused("product_has_no_profile", f"product {order.product.code} has no active certificate "
                                                      "profile")
    return profile


def check_key_type(key_type: str, allowed: list[str]) -> None:
    if key_type not in allowed:
        raise PolicyRefused("key_type_not_allowed", f"a {key_type} key is none of {', '.join(allowed)}")


def check_subject(requested: list[tuple[str, str]], expected: list[tuple[str, str]]) -> None:
    """The same attributes with the same values; their order in the request does not matter
    (the certificate carries ours)."""
    if sorted(requested) != sorted(expected):
        raise PolicyRefused("subject_mismatch", "the request's subject is not the reviewed one: "
                                                f"{_text(requested)} instead of {_text(expected)}")


def _text(attributes: list[tuple[str, str]]) -> str:
    return ", ".join(f"{oid}={value}" for oid, value in attributes)


def validity(product: Product, issuing: CaCertificate, now: dt.datetime, *, business_type: BusinessType,
             earlier: Certificate | None = None) -> tuple[dt.datetime, dt.datetime]:
    """From now until the end the order buys: the product's months from now for a new certificate; for
    a renewal of a certificate not expired yet, the product's months on top of the earlier end
    (未过期证书进行更新,新证书有效期在旧证书截止日期基础上顺延), of an expired one from now; for an
    information change the earlier end (a change of name buys no time). A certificate never outlives
    its issuer; one cut short would give the applicant less than was paid for, so it is refused
    instead (the CA's expiry alerts come long before)."""
    not_before = now.astimezone(dt.UTC).replace(microsecond=0)
    if earlier is None:
        not_after = add_months(not_before, product.validity_months)
    elif business_type is BusinessType.INFO_CHANGE:
        not_after = earlier.not_after
    else:
        not_after = add_months(max(not_before, earlier.not_after), product.validity_months)
    if not_after > issuing.not_after:
        raise PolicyRefused("validity_beyond_ca", f"the certificate would end {not_after:%Y-%m-%d}, after the "
                                                  f"issuing CA's certificate ({issuing.not_after:%Y-%m-%d})")
    return not_before, not_after


def add_months(start: dt.datetime, months: int) -> dt.datetime:
    """The same day and time `months` later (the month's last day when it has no such day)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))


def check_no_other_certificate(session: Session, order: Order) -> None:
    """An order never has more than one unrevoked certificate (the unique index
    uq_certificate_order_unrevoked holds it under concurrent jobs too)."""
    if session.scalar(select(exists().where(Certificate.order_id == order.id,
                                            Certificate.status != CertificateStatus.REVOKED))):
        raise PolicyRefused("order_has_certificate", f"order {order.number} has an unrevoked certificate: revoke it "
                                                     "before asking for another")


# --- revoking for an order ---------------------------------------------------------------------

# The certificate an approved replacement or revocation names is revoked once the order is approved;
# a replacement may be at the station, or shipped, by the time the signing service hears of it.
REVOKING_BUSINESS_TYPES = frozenset({BusinessType.REPLACEMENT, BusinessType.REVOCATION})
APPROVED_OR_LATER = frozenset({OrderStatus.APPROVED, OrderStatus.PROGRAMMING, OrderStatus.PROGRAMMED,
                               OrderStatus.SHIPPED, OrderStatus.COMPLETED})
# A lost key's certificate is compromised; a damaged one's is superseded by the replacement's.
REPLACEMENT_REASONS = frozenset({RevocationReason.KEY_COMPROMISE, RevocationReason.SUPERSEDED})
_APPROVALS = (Decision.APPROVE, Decision.FIRST_APPROVAL)


def order_to_revoke(session: Session, order_number: str) -> Order:
    """The approved replacement or revocation order, with the certificate it names (the policy's
    columns only, as order_to_issue reads them)."""
    order = session.scalars(
        select(Order).where(Order.number == order_number)
        .options(load_only(Order.id, Order.number, Order.status, Order.business_type, *_HOLDER_COLUMNS,
                           Order.certificate_id, Order.revocation_reason, Order.signed_at, Order.first_approver_id),
                 *_holder())
    ).first()
    if order is None:
        raise PolicyRefused("order_unknown", f"no order {order_number}")
    if order.business_type not in REVOKING_BUSINESS_TYPES:
        raise PolicyRefused("business_type_not_revoking", f"a {order.business_type} order revokes no certificate")
    if order.status not in APPROVED_OR_LATER:
        raise PolicyRefused("order_not_approved", f"order {order_number} is {order.status}, not approved")
    if order.certificate_id is None:
        raise PolicyRefused("order_names_no_certificate", f"order {order_number} names no certificate")
    return order


def check_same_holder(session: Session, order: Order, certificate: Certificate) -> None:
    """The certificate was issued to the holder the order is for: the organisation by its credit code,
    the person by their subject_serial (the keyed digest of their ID, as the certificate names them)."""
    if order.personal:
        earlier = session.execute(select(Order.cert_kind, Person.subject_serial)
                                  .join(Person, Order.agent_id == Person.id)
                                  .where(Order.id == certificate.order_id)).first()
        serial = order.holder.subject_serial
        if earlier is None or earlier.cert_kind is not CertKind.PERSONAL or not serial \
                or earlier.subject_serial != serial:
            raise PolicyRefused("certificate_of_another_holder", f"certificate {certificate.serial_number} is not "
                                                                 f"of the holder of order {order.number}")
        return
    holder = session.scalar(select(Organisation.credit_code).join(Order, Order.organisation_id == Organisation.id)
                            .where(Order.id == certificate.order_id))
    if holder != order.organisation.credit_code:
        raise PolicyRefused("certificate_of_another_organisation", f"certificate {certificate.serial_number} is not "
                                                                   f"of the organisation of order {order.number}")


def order_reason(order: Order) -> RevocationReason:
    if order.revocation_reason is None:
        raise PolicyRefused("reason_not_allowed", f"order {order.number} gives no revocation reason")
    code = reason(order.revocation_reason)
    if order.business_type is BusinessType.REPLACEMENT and code not in REPLACEMENT_REASONS:
        raise PolicyRefused("reason_not_allowed", f"a replacement revokes for keyCompromise (lost) or superseded "
                                                  f"(damaged), not {code.name}")
    return code


def order_approvers(session: Session, order: Order) -> tuple[str, str]:
    """Who asked for the revocation and who approved it, as the register names them: for a replacement
    the applicant (by their SMS signature) and the reviewer who approved; for a revocation the senior
    reviewers of the first and the second approval."""
    decisions = [(staff_id, Decision(decision)) for staff_id, decision in session.execute(
        select(ReviewDecision.staff_id, ReviewDecision.decision)
        .where(ReviewDecision.order_id == order.id, ReviewDecision.decision.in_(_APPROVALS))
        .order_by(ReviewDecision.id.desc()))]
    approved_by = next((staff_id for staff_id, decision in decisions if decision == Decision.APPROVE), None)
    if order.business_type is BusinessType.REPLACEMENT:
        if order.signed_at is None:
            raise PolicyRefused("signature_missing", f"order {order.number} has no SMS signature of the applicant")
        reviewer = _staff(session, approved_by)
        if reviewer is None or not reviewer.active or reviewer.role not in REVIEW_ROLES:
            raise PolicyRefused("approval_missing", f"order {order.number} has no approval by an active reviewer")
        return f"applicant:{order.number}", reviewer.actor
    first = order.first_approver_id
    if first is None or approved_by is None or (first, Decision.FIRST_APPROVAL) not in decisions:
        raise PolicyRefused("approval_missing", f"order {order.number} lacks the first or the second senior approval")
    requester, confirmer = _staff(session, first), _staff(session, approved_by)
    if requester is None or confirmer is None:
        raise PolicyRefused("approval_missing", f"an approver of order {order.number} is no longer on the staff")
    check_two_officers(requester, confirmer)
    return requester.actor, confirmer.actor


def _staff(session: Session, staff_id: int | None) -> Staff | None:
    if staff_id is None:
        return None
    return session.scalars(select(Staff).options(load_only(Staff.username, Staff.role, Staff.active))
                           .where(Staff.id == staff_id)).first()


# --- superseding for an order ------------------------------------------------------------------


def order_to_supersede(session: Session, order_number: str) -> Order:
    """The renewal or information change, with its holder (the policy's columns only)."""
    order = session.scalars(
        select(Order).where(Order.number == order_number)
        .options(load_only(Order.id, Order.number, Order.business_type, *_HOLDER_COLUMNS, Order.certificate_id),
                 *_holder())
    ).first()
    if order is None:
        raise PolicyRefused("order_unknown", f"no order {order_number}")
    if order.business_type not in SUCCEEDING_BUSINESS_TYPES:
        raise PolicyRefused("business_type_not_superseding", f"a {order.business_type} order supersedes no "
                                                             "certificate")
    return order


def own_certificate(session: Session, order: Order) -> Certificate:
    """The order's own unrevoked certificate, the one that takes over."""
    certificate = session.scalars(select(Certificate).where(Certificate.order_id == order.id,
                                                            Certificate.status != CertificateStatus.REVOKED)).first()
    if certificate is None:
        raise PolicyRefused("order_certificate_missing", f"order {order.number} has no certificate of its own yet")
    return certificate


def check_earlier_valid(earlier: Certificate) -> None:
    if earlier.status is not CertificateStatus.VALID:
        raise PolicyRefused("earlier_certificate_not_valid", f"certificate {earlier.serial_number} is "
                                                             f"{earlier.status}, not valid")
