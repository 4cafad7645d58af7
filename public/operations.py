"""What applicants do to an order. Operations flush and audit; the request edge commits."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing import checkout
from billing.services import BillingServices
from documents.materials import CheckedImage, current_materials
from documents.storage import DocumentStore, Purpose
from documents.uncommitted import save_until_committed
from models import (
    BusinessType,
    CertKind,
    Channel,
    Material,
    MaterialKind,
    MaterialRequest,
    MediaModel,
    Order,
    OrderStatus,
    Organisation,
    Person,
    PersonRole,
    Product,
    next_order_number,
    record,
)
from models.base import utcnow
from models.business import PAID_BY_TRANSFER, materials_of
from models.holders import same_applicant
from models.order_state import APPLICANT_EDITABLE, CLOSED
from notifications.messages import render_sms
from public import catalogue, sms_codes
from public.forms import OWN_KEY
from review import operations as review_operations

SIGNATURE_PURPOSE = "order_signature"
SIGNATURE_CONSENT = (
    "我同意向{ca_name}申请电子签名认证证书，自愿遵守其电子认证业务规则，并通过【输入短信验证码】的方式"
    "代表我对证书申请行为的真实意思表示。本人保证所提交的申请资料真实、准确、完整，"
    "愿意承担由资料虚假失实而导致的一切后果。"
)


REVOCATION_CONSENT = (
    "我单位向{ca_name}申请吊销本订单所列的数字证书，并通过【输入短信验证码】的方式代表我单位对证书吊销申请的"
    "真实意思表示。我单位知悉证书吊销后即失效且不可恢复，保证所提交的信息真实、准确、完整，"
    "愿意承担由信息虚假失实而导致的一切后果。"
)


# A personal certificate's holder asks in their own name (本人), not the organisation's (我单位).
PERSONAL_REVOCATION_CONSENT = (
    "本人向{ca_name}申请吊销本订单所列的本人数字证书，并通过【输入短信验证码】的方式代表本人对证书吊销申请的"
    "真实意思表示。本人知悉证书吊销后即失效且不可恢复，保证所提交的信息真实、准确、完整，"
    "愿意承担由信息虚假失实而导致的一切后果。"
)


def signature_consent(ca_name: str, business_type: BusinessType = BusinessType.NEW,
                      cert_kind: CertKind = CertKind.UNIT) -> str:
    """The text the agent (or a personal certificate's holder) agrees to with the SMS code; it names
    the CA (its Chinese name, as the text is Chinese in either language of the page)."""
    text = SIGNATURE_CONSENT
    if business_type is BusinessType.REVOCATION:
        text = PERSONAL_REVOCATION_CONSENT if cert_kind is CertKind.PERSONAL else REVOCATION_CONSENT
    return text.format(ca_name=ca_name)


def signature_note(consent: str) -> str:
    """What the order history keeps of the signature: which text was agreed to."""
    return "consent sha256 " + hashlib.sha256(consent.encode()).hexdigest()



class NotEditable(Exception):
    """The order has moved on; what the applicant submitted is now fixed."""


class MaterialsIncomplete(Exception):
    def __init__(self, missing: list[MaterialKind]):
        super().__init__("materials missing: " + ", ".join(missing))
        self.missing = missing


def session_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def submit_application(
    session: Session, channel: Channel, data: dict, *, actor: str, applicant_secret: str | None,
    business_type: BusinessType = BusinessType.NEW,
) -> Order:
    """Create an order from validated form data (a new application unless an after-sale page
    says otherwise); it awaits materials."""
    product = _product(session, data["product"])
    order = Order(
        number=next_order_number(session, product.cert_kind),
        business_type=business_type,
        cert_kind=product.cert_kind,
        status=OrderStatus.AWAITING_MATERIALS,
        channel=channel,
        applicant_session_hash=session_hash(applicant_secret) if applicant_secret else None,
    )
    _fill(session, order, channel, product, data)
    session.add(order)
    record(session, actor, "order.created", order=order, after={"status": str(order.status),
                                                                "number": order.number})
    session.flush()
    return order


def update_application(session: Session, order: Order, data: dict, *, actor: str) -> Order:
    """'Return to edit': the same order (and number) takes the corrected data."""
    if order.status not in APPLICANT_EDITABLE:
        raise NotEditable(order.number)
    product = _product(session, data["product"])
    _fill(session, order, order.channel, product, data)
    record(session, actor, "order.edited", order=order)
    session.flush()
    return order


def _product(session: Session, code: str) -> Product:
    return session.scalars(select(Product).where(Product.code == code)).one()


def _fill(session: Session, order: Order, channel: Channel, product: Product, data: dict) -> None:
    """The form's data on the order: a unit order's organisation, legal representative, account and
    invoice, or none of them for a personal order, whose holder takes the agent's place."""
    if product.cert_kind is not order.cert_kind:
        raise ValueError(f"{product.code} is not a product of order {order.number}'s kind")
    media = None
    if data["media_model"] != OWN_KEY:
        media = session.scalars(select(MediaModel).where(MediaModel.code == data["media_model"])).one()
    order.agent = Person(
        role=PersonRole.HOLDER if order.personal else PersonRole.AGENT,
        name=data["agent_name"],
        phone=data["agent_phone"],
        email=data["agent_email"],
        id_type=data["agent_id_type"],
        id_number=data["agent_id_number"],
        bank_card_number=data["agent_bank_account"] or None,
    )
    if order.personal:
        _no_organisation(order)
    else:
        _fill_organisation(order, data)
    order.product = product
    order.media_type = data["media_type"]
    order.media_model = media
    order.agent_identity_method = data["agent_identity_method"]
    order.mailing_province, order.mailing_city = data["mailing_province"], data["mailing_city"]
    order.mailing_address = data["mailing_address"]
    order.price_cents = catalogue.price_cents(session, product, channel, order.business_type, media)


def _fill_organisation(order: Order, data: dict) -> None:
    organisation = Organisation(
        name=data["org_name"],
        department=data["org_department"] or None,
        credit_code=data["credit_code"],
        region_province=data["region_province"],
        region_city=data["region_city"],
        phone=data["org_phone"] or None,
    )
    legal_rep = Person(
        role=PersonRole.LEGAL_REP,
        name=data["legal_rep_name"],
        phone=data["legal_rep_phone"] or None,
        id_type=data["legal_rep_id_type"],
        id_number=data["legal_rep_id_number"],
        bank_card_number=data["legal_rep_bank_card"] or None,
    )
    order.organisation, order.legal_rep = organisation, legal_rep
    order.identity_method = data["identity_method"]
    # The account and the invoice title are the organisation's own; the form cannot change them.
    order.account_name = organisation.name
    order.account_number = data["account_number"]
    order.bank_name = data["bank_name"]
    order.bank_province, order.bank_city = data["bank_province"], data["bank_city"]
    order.invoice_taxpayer_id = data["invoice_taxpayer_id"]
    order.invoice_address_phone = data["invoice_address_phone"] or None
    order.invoice_bank_account = data["invoice_bank_account"] or None


def _no_organisation(order: Order) -> None:
    """A personal order: no organisation, legal representative, corporate account or taxpayer ID
    (the invoice is made out to the holder's name)."""
    order.organisation = order.legal_rep = None
    order.identity_method = None
    order.account_name = order.account_number = order.bank_name = None
    order.bank_province = order.bank_city = None
    order.invoice_taxpayer_id = order.invoice_address_phone = order.invoice_bank_account = None


@dataclass(frozen=True)
class OpenOrders:
    """Other open orders of the same organisation (or holder) and business type: those this browser
    filed (shown by number) and how many others there are (their numbers are not the visitor's)."""

    own: list[str]
    others: int


def open_duplicates(session: Session, order: Order) -> OpenOrders:
    """Before the applicant confirms: does the organisation (or the holder) already have such an order open?"""
    query = select(Order.number, Order.applicant_session_hash).where(
        Order.id != order.id, Order.business_type == order.business_type, Order.status.not_in(CLOSED))
    rows = session.execute(same_applicant(query, order).order_by(Order.id)).all()
    own = [number for number, owner in rows
           if owner is not None and owner == order.applicant_session_hash]
    return OpenOrders(own=own, others=len(rows) - len(own))


def form_data(order: Order) -> dict:
    """The order as form values, for 'return to edit' (a personal order's: the personal form's)."""
    ag = order.agent
    data = {
        "product": order.product.code, "media_type": order.media_type,
        "media_model": order.media_model.code if order.media_model else OWN_KEY,
        "agent_identity_method": str(order.agent_identity_method), "agent_name": ag.name,
        "agent_phone": ag.phone, "agent_id_type": str(ag.id_type),
        "agent_id_number": ag.id_number, "agent_bank_account": ag.bank_card_number or "",
        "agent_email": ag.email, "mailing_province": order.mailing_province,
        "mailing_city": order.mailing_city, "mailing_address": order.mailing_address,
        "consent": True,
    }
    if order.personal:
        return data
    o, lr = order.organisation, order.legal_rep
    return data | {
        "identity_method": str(order.identity_method), "org_name": o.name,
        "org_department": o.department or "", "credit_code": o.credit_code,
        "region_province": o.region_province, "region_city": o.region_city,
        "org_phone": o.phone or "", "legal_rep_name": lr.name, "legal_rep_phone": lr.phone or "",
        "legal_rep_id_type": str(lr.id_type), "legal_rep_id_number": lr.id_number,
        "legal_rep_bank_card": lr.bank_card_number or "",
        "account_number": order.account_number, "bank_name": order.bank_name,
        "bank_province": order.bank_province, "bank_city": order.bank_city,
        "invoice_taxpayer_id": order.invoice_taxpayer_id,
        "invoice_address_phone": order.invoice_address_phone or "",
        "invoice_bank_account": order.invoice_bank_account or "",
    }


def store_material(
    session: Session, store: DocumentStore, order: Order, kind: MaterialKind,
    image: CheckedImage, *, original_filename: str | None, actor: str,
) -> Material:
    """Keep a checked image as the order's current material of that kind."""
    if order.status not in APPLICANT_EDITABLE:
        raise NotEditable(order.number)
    return _replace_material(session, store, order, kind, image, original_filename, actor)


def store_requested_material(
    session: Session, store: DocumentStore, order: Order, request: MaterialRequest, kind: MaterialKind,
    image: CheckedImage, *, original_filename: str | None, actor: str,
) -> Material:
    """A document a reviewer asked for again; only the named kinds are accepted."""
    if kind.value not in request.kinds:
        raise NotEditable(order.number)
    return _replace_material(session, store, order, kind, image, original_filename, actor)


def _replace_material(session, store, order, kind, image, original_filename, actor) -> Material:
    # Stored first: a store that cannot write (StorageUnavailable) leaves the material in force as it was.
    stored_name = save_until_committed(session, store, Purpose.MATERIAL, image.content)
    previous = current_materials(session, order).get(kind)
    if previous is not None:
        previous.superseded_at = utcnow()
    material = Material(
        order_id=order.id, kind=kind, stored_name=stored_name,
        content_type=image.content_type, size_bytes=len(image.content), sha256=image.sha256,
        width=image.width, height=image.height,
        original_filename=(original_filename or "")[:120] or None, uploaded_by=actor,
    )
    session.add(material)
    record(session, actor, "material.uploaded", order=order,
           after={"kind": str(kind), "sha256": image.sha256, "replaces": previous.id if previous else None})
    session.flush()
    return material


def requested_still_missing(session: Session, order: Order, request: MaterialRequest) -> list[MaterialKind]:
    """Named documents not uploaded again since the reviewer asked."""
    current = current_materials(session, order)
    return [MaterialKind(k) for k in request.kinds
            if k not in current or current[k].uploaded_at < request.requested_at]


def finish_resubmission(session: Session, order: Order, request: MaterialRequest, *, actor: str) -> bool:
    """Once every named document is in, the order goes back to the reviewers."""
    if requested_still_missing(session, order, request):
        return False
    review_operations.resubmit_materials(session, order, request, actor=actor)
    return True


def finish_materials(session: Session, order: Order, *, actor: str) -> None:
    """Every material the business type asks for is in: the order waits for the agent's SMS signature.
    An order signed already has moved on (NotEditable)."""
    if order.status == OrderStatus.AWAITING_SIGNATURE:
        return
    if order.status != OrderStatus.AWAITING_MATERIALS:
        raise NotEditable(order.number)
    current = current_materials(session, order)
    missing = [k for k in materials_of(order) if k not in current]
    if missing:
        raise MaterialsIncomplete(missing)
    order.move_to(OrderStatus.AWAITING_SIGNATURE, actor)


def send_signature_code(
    session: Session, policy: sms_codes.CodePolicy, order: Order, *, client_ip: str | None,
    channel: Channel | None = None,
) -> None:
    """The agent's signature code: from the browser (counted per IP) or from a channel's
    server through the API (counted per channel)."""
    if order.status != OrderStatus.AWAITING_SIGNATURE:
        raise NotEditable(order.number)
    sms_codes.send_code(
        session, policy, phone=order.agent.phone, purpose=SIGNATURE_PURPOSE,
        message=lambda code: render_sms(SIGNATURE_PURPOSE, number=order.number, code=code,
                                        minutes=policy.ttl_minutes),
        client_ip=client_ip, order=order, channel=channel,
    )


def confirm_signature(
    session: Session, policy: sms_codes.CodePolicy, services: BillingServices, order: Order, code: str, *,
    consent: str, actor: str
) -> None:
    """The agent's SMS code is the signature under `consent`, the text they were shown; the
    order then awaits payment, its trade open (or, paid by a bank transfer made beforehand,
    finance's match of the payment proof)."""
    if order.status != OrderStatus.AWAITING_SIGNATURE:
        raise NotEditable(order.number)
    sms_codes.use_code(session, policy, phone=order.agent.phone, purpose=SIGNATURE_PURPOSE,
                       code=code, order=order)
    order.move_to(OrderStatus.AWAITING_PAYMENT, actor, note=signature_note(consent))
    if order.price_cents == 0:  # free of charge (an unlock, a revocation): nothing to pay, on to review
        order.move_to(OrderStatus.PAID, actor, note="free of charge")
        review_operations.enqueue_paid_order(session, order)
    elif order.business_type not in PAID_BY_TRANSFER:
        checkout.ensure_payment(session, services, order)
