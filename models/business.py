"""What each business type (初次办理, 更新, 解锁, 补办, 变更, 吊销) asks of the applicant and of the
reviewer, and what its approval does: one table, read by the public form, the review screen, the
station's intake and the approval itself."""
from __future__ import annotations

from sqlalchemy import and_, or_

from models.material import MaterialKind
from models.order import Order
from models.order_state import BusinessType

B, K = BusinessType, MaterialKind

# The documents of a first application (the seed's upload page).
APPLICATION_MATERIALS = (K.BUSINESS_LICENCE, K.AGENT_ID_FRONT, K.AGENT_ID_BACK, K.ESEAL_SAMPLE_FORM,
                         K.AUTHORISATION_LETTER)

MATERIALS: dict[BusinessType, tuple[MaterialKind, ...]] = {
    B.NEW: APPLICATION_MATERIALS,
    # A renewal online: the key login identified the certificate, and nothing in it changes.
    B.RENEWAL: (),
    # 补办: the form is refilled as for a first application, with the proof of the bank transfer
    # made beforehand (付款凭证).
    B.REPLACEMENT: APPLICATION_MATERIALS + (K.PAYMENT_PROOF,),
    B.INFO_CHANGE: (K.BUSINESS_LICENCE, K.AGENT_ID_FRONT, K.AGENT_ID_BACK, K.AUTHORISATION_LETTER),
    # Revocation: identity by credit code, SMS code and the legal representative's check, no documents.
    B.REVOCATION: (),
    B.UNLOCK: (),
}
# A personal certificate's: the holder's ID card, both sides (and a replacement's payment proof).
PERSONAL_ID = (K.AGENT_ID_FRONT, K.AGENT_ID_BACK)
PERSONAL_MATERIALS: dict[BusinessType, tuple[MaterialKind, ...]] = {
    B.NEW: PERSONAL_ID, B.RENEWAL: (), B.REPLACEMENT: PERSONAL_ID + (K.PAYMENT_PROOF,),
    B.INFO_CHANGE: PERSONAL_ID, B.REVOCATION: (), B.UNLOCK: (),
}

# Checks of the order as a whole that the reviewer ticks beside each document's own (the
# checklist's "order" entry).
ORDER_CHECKS: dict[BusinessType, tuple[str, ...]] = {
    B.NEW: (),
    B.RENEWAL: (),
    B.UNLOCK: (),
    B.REPLACEMENT: ("same_organisation", "earlier_certificate_found", "payment_matched"),
    B.REVOCATION: ("certificate_identified", "requester_entitled", "reason_stated"),
    B.INFO_CHANGE: ("changes_match_documents",),
}
ORDER_CHECKLIST_KEY = "order"

# Approval sends a programmed key by courier (so a new certificate password is made). A renewal's and
# an information change's new certificate goes onto the applicant's own key, at their PC (the key helper:
# its password does not change) or at the station for a key mailed in (programmed_at_station).
SHIPS_KEY = frozenset({B.NEW, B.REPLACEMENT})
# A new key pair and certificate on the key the organisation has (Order.certificate_id names its
# certificate, superseded once the new one is on the key).
ON_THE_SAME_KEY = frozenset({B.RENEWAL, B.INFO_CHANGE})
# Where such an order's key work is done (Order.key_work): at the applicant's PC, or at the station.
KEY_WORK_HELPER, KEY_WORK_STATION = "helper", "station"
# The worker's job that has the signing service supersede an order's earlier certificate once the new
# one is on the key (registered by the public blueprint: public.supersede_work).
SUPERSEDE_CERTIFICATE = "order.supersede_certificate"
# Approval revokes the certificate the order names (Order.certificate_id): the lost or damaged
# key's, or the one asked to be revoked.
REVOKES_CERTIFICATE = frozenset({B.REPLACEMENT, B.REVOCATION})
# Paid by a bank transfer made beforehand, matched by finance to the statement, not by QR code.
PAID_BY_TRANSFER = frozenset({B.REPLACEMENT})
# After-sale orders continue an earlier order of the same organisation (Order.previous_order_id).
AFTER_SALE = frozenset({B.RENEWAL, B.UNLOCK, B.REPLACEMENT, B.INFO_CHANGE, B.REVOCATION})


def required_materials(business_type: BusinessType) -> tuple[MaterialKind, ...]:
    return MATERIALS[business_type]


def materials_of(order) -> tuple[MaterialKind, ...]:
    """The documents this order asks for: its business type's (a unit's or a person's), but none for an
    information change that changes nothing the review rests on (subject_changes): it goes to no reviewer."""
    if order.business_type is B.INFO_CHANGE and not subject_changes(order):
        return ()
    return (PERSONAL_MATERIALS if order.personal else MATERIALS)[order.business_type]


def order_checks(business_type: BusinessType) -> tuple[str, ...]:
    return ORDER_CHECKS[business_type]


def ships_key(business_type: BusinessType) -> bool:
    return business_type in SHIPS_KEY


def programmed_at_station(order) -> bool:
    """Whether the station programs the order's key once it is approved (so approval makes a new
    certificate password): a key to ship, or the applicant's own key mailed in for a renewal or an
    information change (re-initialised with the SO PIN on file: the old password is gone)."""
    return ships_key(order.business_type) or (
        order.business_type in ON_THE_SAME_KEY and order.key_work == KEY_WORK_STATION)


def programmed_at_station_sql():
    """programmed_at_station as a condition on Order, for the station's queue."""
    return or_(Order.business_type.in_(SHIPS_KEY),
               and_(Order.business_type.in_(ON_THE_SAME_KEY), Order.key_work == KEY_WORK_STATION))


# 签章服务 offered with a certificate: a renewal's (the seed: 个人章, 个人章（手写签字）) and an
# information change's (法人章, 公章).
SEAL_SERVICES: dict[BusinessType, tuple[str, ...]] = {
    B.RENEWAL: ("personal_seal", "handwritten_signature"),
    B.INFO_CHANGE: ("legal_rep_seal", "official_seal"),
}


def needs_review(order) -> bool:
    """Whether a paid order waits for a reviewer. A renewal does not (the key login identified the
    certificate, and nothing in it changes), nor an information change of contact data only; a change
    of the organisation's name or legal representative does, under dual control."""
    if order.business_type is B.RENEWAL:
        return False
    if order.business_type is B.INFO_CHANGE:
        return subject_changes(order)
    return True


def subject_changes(order) -> bool:
    """An information change of what the certificate or its review rests on: the organisation's name,
    or its legal representative; a person's name or ID."""
    earlier = order.previous_order
    if earlier is None:
        return True
    if order.personal:
        return (order.holder.name, order.holder.subject_serial) != (earlier.holder.name, earlier.holder.subject_serial)
    return (order.organisation.name, order.legal_rep.name, order.legal_rep.id_number) != (
        earlier.organisation.name, earlier.legal_rep.name, earlier.legal_rep.id_number)


# The organisation's data a certificate's subject is made of (issuance.profiles.subject_attributes: country,
# province, city, name, credit code): what an information change must alter for a new certificate.
SUBJECT_FIELDS = ("name", "credit_code", "region_province", "region_city")


def new_certificate_needed(order) -> bool:
    """Whether the order's key work makes a new certificate on the organisation's key: a renewal's always;
    an information change's only when the subject changes (a new legal representative, seal services or
    contact data are not in the certificate: the one in force stays, and the order completes without key
    work)."""
    if order.business_type is B.RENEWAL:
        return True
    if order.business_type is not B.INFO_CHANGE:
        return False
    earlier = order.previous_order
    if earlier is not None and order.personal:  # issuance.profiles.personal_subject_attributes
        return (order.holder.name, order.holder.subject_serial) != (earlier.holder.name, earlier.holder.subject_serial)
    return earlier is None or any(getattr(order.organisation, name) != getattr(earlier.organisation, name)
                                  for name in SUBJECT_FIELDS)
