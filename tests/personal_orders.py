"""Personal orders (个人数字证书) for the tests of signing, the station, shipping and billing: the
holder in the agent's place, the PERSON-1Y product, the ID card's two sides, signed and paid and
waiting in the PERSONAL queue, as the public personal form will leave them."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from documents.storage import DocumentStore, Purpose
from models import (
    AgentIdentityMethod,
    BusinessType,
    CertKind,
    Channel,
    IdType,
    Material,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    Person,
    PersonRole,
    Product,
)
from models.base import utcnow
from models.business import materials_of
from models.order_number import next_order_number
from public.validators import resident_id_check_char
from review import operations
from tests import factories

_serials = iter(range(1, 10**6))
PRICE_CENTS = 30000


def resident_id(serial: int) -> str:
    """A valid resident ID number (Zhengzhou, born 1990, GB 11643 check character) for a serial."""
    body = f"41010519900101{serial % 1000:03d}"
    return body + resident_id_check_char(body)


def unpaid_personal_order(session, upload_folder: str | DocumentStore, *, name: str = "张小明",
                          id_number: str | None = None, business_type: BusinessType = BusinessType.NEW,
                          phone: str | None = None) -> Order:
    """A personal order with its materials (the ID card's two sides), signed, awaiting payment."""
    serial = next(_serials)
    channel = session.scalars(select(Channel).filter_by(code="direct")).one()
    product = session.scalars(select(Product).where(Product.cert_kind == CertKind.PERSONAL)).first()
    holder = Person(role=PersonRole.HOLDER, name=name, phone=phone or f"137{serial:08d}",
                    email=f"holder{serial}@example.cn", id_type=IdType.RESIDENT_ID,
                    id_number=id_number or resident_id(serial))
    order = Order(number=next_order_number(session, CertKind.PERSONAL), business_type=business_type,
                  cert_kind=CertKind.PERSONAL, status=OrderStatus.AWAITING_MATERIALS, channel=channel,
                  product=product, media_type="uk", agent=holder, agent_identity_method=AgentIdentityMethod.PHONE,
                  mailing_province="410000", mailing_city="410100", mailing_address="郑州市金水区花园路 8 号 3 单元",
                  price_cents=PRICE_CENTS)
    session.add(order)
    session.flush()
    store = upload_folder if isinstance(upload_folder, DocumentStore) else factories.folder_store(upload_folder)
    for kind in materials_of(order):
        image = factories._document(kind)
        session.add(Material(order_id=order.id, kind=kind, stored_name=store.save(Purpose.MATERIAL, image.content),
                             content_type=image.content_type, size_bytes=len(image.content), sha256=image.sha256,
                             width=image.width, height=image.height, uploaded_by="applicant:test"))
    for status in (OrderStatus.AWAITING_SIGNATURE, OrderStatus.AWAITING_PAYMENT):
        order.move_to(status, "applicant:test")
    session.flush()
    return order


def personal_payment(session, upload_folder: str | DocumentStore, *, paid_at: dt.datetime | None = None,
                     **overrides) -> Payment:
    """A paid personal order, in the PERSONAL queue, and its payment (as checkout records them)."""
    paid_at = paid_at or utcnow()
    order = unpaid_personal_order(session, upload_folder, **overrides)
    order.move_to(OrderStatus.PAID, "applicant:test")
    operations.enqueue_paid_order(session, order, paid_at)
    made = Payment(order_id=order.id, provider="sandbox", out_trade_no=order.number, amount_cents=order.price_cents,
                   status=PaymentStatus.PAID, trade_no=f"2088{order.number}",
                   created_at=paid_at - dt.timedelta(minutes=5), paid_at=paid_at)
    session.add(made)
    session.flush()
    return made


def approved_personal_order(session, upload_folder: str | DocumentStore, **overrides) -> Order:
    """A paid personal order approved (by the state machine alone: no password sent)."""
    order = personal_payment(session, upload_folder, **overrides).order
    order.move_to(OrderStatus.IN_REVIEW, "staff:test")
    order.move_to(OrderStatus.APPROVED, "staff:test")
    session.flush()
    return order
