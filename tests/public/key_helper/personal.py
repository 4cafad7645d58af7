"""A personal certificate's order (个人数字证书) paid and approved, as the personal application makes it: the
holder in the agent's place, no organisation, the ID card's two sides uploaded."""
from __future__ import annotations

import datetime as dt
import itertools
import random
import uuid

from sqlalchemy import select

from documents.storage import Purpose
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
    next_order_number,
)
from models.base import utcnow
from models.business import materials_of
from public import catalogue
from public.validators import resident_id_check_char
from review import operations
from tests import factories

PRODUCT = "PERSON-1Y"
_serials = itertools.count(random.randrange(10**5))


def resident_id(serial: int | None = None) -> str:
    """A valid resident ID number (GB 11643 check character), one per serial."""
    body = f"41010119900101{(serial if serial is not None else next(_serials)) % 1000:03d}"
    return body + resident_id_check_char(body)


def holder_phone() -> str:
    return f"137{random.randrange(10**8):08d}"


def approved_personal_order(session, upload_folder, *, name: str = "李个人", id_number: str | None = None,
                            phone: str | None = None) -> Order:
    """A NEW personal order with the holder's ID card, signed, paid (a payment of its price) and approved,
    its certificate password set: the station programs its key next."""
    channel = session.scalars(select(Channel).filter_by(code="direct")).one()
    product = session.scalars(select(Product).filter_by(code=PRODUCT)).one()
    holder = Person(role=PersonRole.HOLDER, name=name, phone=phone or holder_phone(),
                    email=f"{uuid.uuid4().hex[:8]}@example.cn", id_type=IdType.RESIDENT_ID,
                    id_number=id_number or resident_id())
    order = Order(number=next_order_number(session, CertKind.PERSONAL), business_type=BusinessType.NEW,
                  cert_kind=CertKind.PERSONAL, status=OrderStatus.AWAITING_MATERIALS, channel=channel, product=product,
                  media_type="card", agent_identity_method=AgentIdentityMethod.PHONE, agent=holder,
                  mailing_province="410000", mailing_city="410100", mailing_address="郑州市金水路 1 号",
                  price_cents=catalogue.price_cents(session, product, channel, BusinessType.NEW, None))
    session.add(order)
    session.flush()
    store = factories.folder_store(upload_folder)
    for kind in materials_of(order):
        image = factories._document(kind)
        session.add(Material(order_id=order.id, kind=kind, stored_name=store.save(Purpose.MATERIAL, image.content),
                             content_type=image.content_type, size_bytes=len(image.content), sha256=image.sha256,
                             width=image.width, height=image.height, uploaded_by="applicant:test"))
    for status in (OrderStatus.AWAITING_SIGNATURE, OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID):
        order.move_to(status, "applicant:test")
    paid_at = utcnow()
    operations.enqueue_paid_order(session, order, paid_at)
    session.add(Payment(order_id=order.id, provider="sandbox", out_trade_no=order.number,
                        amount_cents=order.price_cents, status=PaymentStatus.PAID, trade_no=f"2088{order.number}",
                        created_at=paid_at - dt.timedelta(minutes=5), paid_at=paid_at))
    order.move_to(OrderStatus.IN_REVIEW, "staff:test")
    order.certificate_password = "Pw" + uuid.uuid4().hex[:8]
    order.move_to(OrderStatus.APPROVED, "staff:test")
    session.flush()
    return order
