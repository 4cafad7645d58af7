"""Orders in the states the review console works on, made the way the product makes them:
the public operations for the application, the review operations for the queue."""
from __future__ import annotations

import base64
import datetime as dt
import functools
import io

from sqlalchemy import select

from documents import drawings
from documents.materials import CheckedImage, check_image
from documents.storage import DocumentStore, Purpose
from documents.storage_backends import filesystem_store
from models import (
    AgentIdentityMethod,
    AuditEntry,
    BusinessType,
    CaCertificate,
    CaRole,
    Certificate,
    CertificateProfile,
    CertKind,
    Channel,
    IdType,
    Material,
    MaterialKind,
    MediaModel,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    Person,
    PersonRole,
    Product,
    Staff,
    StaffRole,
)
from models.base import utcnow
from models.business import PERSONAL_MATERIALS, materials_of, required_materials
from models.order_number import next_order_number
from public import catalogue
from public import operations as public_operations
from public.openapi import APPLICATION_EXAMPLE
from public.validators import credit_code_check_char, resident_id_check_char
from review import operations
from tests.conftest import STORAGE_KEY

_serials = iter(range(1, 10**6))


def credit_code(serial: int) -> str:
    """A valid unified social credit code (GB 32100 check character) for a serial number."""
    body = f"91410100MA{serial:07d}"
    return body + credit_code_check_char(body)


def application(**overrides) -> dict:
    serial = next(_serials)
    data = {k: v for k, v in APPLICATION_EXAMPLE.items()}
    # Each application has its own organisation and phones unless a test says otherwise.
    data["credit_code"] = overrides.pop("credit_code", None) or credit_code(serial)
    data["legal_rep_phone"] = f"138{serial:08d}"
    data["agent_phone"] = f"139{serial:08d}"
    data["invoice_taxpayer_id"] = data["credit_code"]
    data.update(overrides)
    return data


def resident_id(serial: int | None = None) -> str:
    """A valid resident ID number (GB 11643 check character): one per serial, a new one without."""
    serial = next(_serials) if serial is None else serial
    body = f"110105{1950 + serial // 1000 % 50}0101{serial % 1000:03d}"
    return body + resident_id_check_char(body)


def personal_application(**overrides) -> dict:
    """A personal certificate's application as its form posts it: the holder's own (a resident ID
    of their own, with its check character, and a phone of their own)."""
    serial = next(_serials)
    body = f"11010519900101{serial % 1000:03d}"
    return {"product": "PERSON-1Y", "agent_name": "王小明", "agent_id_type": "resident_id",
            "agent_id_number": body + resident_id_check_char(body), "agent_phone": f"137{serial:08d}",
            "agent_identity_method": "phone", "agent_bank_account": "", "agent_email": "xiaoming@example.cn",
            "media_type": "card", "media_model": "UKEY-RS", "mailing_province": "410000", "mailing_city": "410100",
            "mailing_address": "郑州市金水区花园路8号", **overrides}


def paid_order(session, upload_folder: str | DocumentStore, *, business_type: BusinessType = BusinessType.NEW,
               paid_at: dt.datetime | None = None, **overrides) -> Order:
    """An order with the materials its business type asks for, signed and paid, waiting in its review queue."""
    order = unpaid_order(session, upload_folder, business_type=business_type, **overrides)
    order.move_to(OrderStatus.PAID, "applicant:test")
    operations.enqueue_paid_order(session, order, paid_at or utcnow())
    session.flush()
    return order


def payment(session, upload_folder: str | DocumentStore, *, paid_at: dt.datetime | None = None,
            status: PaymentStatus = PaymentStatus.PAID, **overrides) -> Payment:
    """A paid order and its payment, as checkout records them (no trade at any provider)."""
    paid_at = paid_at or utcnow()
    order = paid_order(session, upload_folder, paid_at=paid_at, **overrides)
    made = Payment(order_id=order.id, provider="sandbox", out_trade_no=order.number, amount_cents=order.price_cents,
                   status=status, trade_no=f"2088{order.number}", created_at=paid_at - dt.timedelta(minutes=5),
                   paid_at=None if status is PaymentStatus.PENDING else paid_at)
    session.add(made)
    session.flush()
    return made


def unpaid_order(session, upload_folder: str | DocumentStore, *, business_type: BusinessType = BusinessType.NEW,
                 **overrides) -> Order:
    """An order with its five materials (kept in the folder store at `upload_folder`, or in the
    store given), signed, awaiting payment."""
    channel = session.scalars(select(Channel).filter_by(code="direct")).one()
    order = public_operations.submit_application(session, channel, application(**overrides), actor="applicant:test",
                                                 applicant_secret=None)
    order.business_type = business_type
    _upload_and_sign(session, upload_folder, order,
                     PERSONAL_MATERIALS[business_type] if order.personal else required_materials(business_type))
    return order


def _upload_and_sign(session, upload_folder: str | DocumentStore, order: Order, kinds) -> None:
    store = upload_folder if isinstance(upload_folder, DocumentStore) else folder_store(upload_folder)
    for kind in kinds:
        image = _document(kind)
        session.add(Material(order_id=order.id, kind=kind, stored_name=store.save(Purpose.MATERIAL, image.content),
                             content_type=image.content_type, size_bytes=len(image.content),
                             sha256=image.sha256, width=image.width, height=image.height,
                             uploaded_by="applicant:test"))
    for status in (OrderStatus.AWAITING_SIGNATURE, OrderStatus.AWAITING_PAYMENT):
        order.move_to(status, "applicant:test")
    session.flush()


def personal_order(session, upload_folder: str | DocumentStore, *, business_type: BusinessType = BusinessType.NEW,
                   agent_identity_method: AgentIdentityMethod = AgentIdentityMethod.PHONE, **holder) -> Order:
    """A personal certificate's order (PERSON-1Y, no organisation): its holder in the agent's place, with
    their ID front and back, signed, awaiting payment. `holder` overrides the person's fields."""
    serial = next(_serials)
    channel = session.scalars(select(Channel).filter_by(code="direct")).one()
    product = session.scalars(select(Product).filter_by(code="PERSON-1Y")).one()
    media = session.scalars(select(MediaModel).filter_by(code="UKEY-RS")).one()
    person = Person(**{"role": PersonRole.HOLDER, "name": "王小明", "phone": f"137{serial:08d}",
                       "email": "xiaoming@example.com", "id_type": IdType.RESIDENT_ID,
                       "id_number": "110105199003071239", "bank_card_number": "6222021234567890123", **holder})
    order = Order(number=next_order_number(session, CertKind.PERSONAL), business_type=business_type,
                  cert_kind=CertKind.PERSONAL, status=OrderStatus.AWAITING_MATERIALS, channel=channel,
                  product=product, media_type="card", media_model=media, agent=person,
                  agent_identity_method=agent_identity_method, mailing_province="410000", mailing_city="410100",
                  mailing_address="郑州市金水区花园路2号",
                  price_cents=catalogue.price_cents(session, product, channel, business_type, media))
    order.audit_entries.append(AuditEntry(actor="applicant:test", action="order.created"))
    session.add(order)
    session.flush()
    _upload_and_sign(session, upload_folder, order, materials_of(order))
    return order


def paid_personal_order(session, upload_folder: str | DocumentStore, *, paid_at: dt.datetime | None = None,
                        **overrides) -> Order:
    """A personal order paid, waiting in the personal review queue."""
    order = personal_order(session, upload_folder, **overrides)
    order.move_to(OrderStatus.PAID, "applicant:test")
    operations.enqueue_paid_order(session, order, paid_at or utcnow())
    session.flush()
    return order


def folder_store(folder) -> DocumentStore:
    """The filesystem store a test app keeps in `folder` (its UPLOAD_FOLDER), with the tests' key."""
    return filesystem_store(folder, base64.b64decode(STORAGE_KEY))


@functools.cache
def _document(kind: MaterialKind) -> CheckedImage:
    """The drawn document of a kind, checked as an upload is (drawn once per test run)."""
    out = io.BytesIO()
    drawings.draw(kind).save(out, "PNG")
    return check_image(out.getvalue(), 1536 * 1024)


def worker_round(app) -> int:
    """What a worker does in a round, done now: the queued work (invoices), then the due messages.
    Requests and commands only queue them."""
    from flask import has_app_context

    from backoffice.worker import work_once

    if has_app_context():  # leaving a context of its own would close the test's session
        return work_once(app, "test-worker", [])
    with app.app_context():
        return work_once(app, "test-worker", [])


def staff(session, role: StaffRole | str, username: str) -> Staff:
    member = Staff(username=username, display_name=username.title(), role=StaffRole(role),
                   password_hash="!", email=f"{username}@ca.example.cn")
    session.add(member)
    session.flush()
    return member


def registered_certificate(session, order: Order, serial: str, *, days_left: int = 335, days_held: int = 30,
                           **values) -> Certificate:
    """A certificate of `order` as the register keeps it, under a CA row of its own: nothing is signed
    (tests of what the desk does with certificates, not of the CA's signatures)."""
    now = utcnow()
    ca = CaCertificate(role=CaRole.ISSUING, subject="CN=Register Test CA", serial_number=f"ca{serial[-36:]}",
                       not_before=now - dt.timedelta(days=400), not_after=now + dt.timedelta(days=3650), der=b"0",
                       key_ref="file:register-test.key", created_by="ceremony:test")
    profile = CertificateProfile(code=f"register-{serial[-24:]}", name="Register test", key_types="rsa2048",
                                 key_usage="digital_signature", extended_key_usage="client_auth", policy_oid="1.2.3.4")
    session.add_all([ca, profile])
    session.flush()
    certificate = Certificate(**{
        "order_id": order.id, "issuer_id": ca.id, "profile_id": profile.id, "job_id": f"job-{serial}",
        "serial_number": serial, "subject": "CN=Register test", "key_type": "rsa2048", "csr_sha256": "0" * 64,
        "der": b"0", "not_before": now - dt.timedelta(days=days_held), "not_after": now + dt.timedelta(days=days_left),
        **values})
    session.add(certificate)
    session.flush()
    return certificate
