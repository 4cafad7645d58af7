"""Personal orders (个人数字证书) for the tests of signing, the station, shipping and billing: the
holder in the agent's place, the PERSON-1Y product, the ID card's two sides, signed and paid and
waiting in the PERSONAL queue, as the public personal form will leave them."""
from __future__ import annotations

import datetime as dt
import uuid

from documents.storage import DocumentStore
from models import (
    BusinessType,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
)
from models.base import utcnow
from review import operations
from tests import factories


def unpaid_personal_order(session, upload_folder: str | DocumentStore, *, name: str = "张小明",
                          id_number: str | None = None, business_type: BusinessType = BusinessType.NEW,
                          phone: str | None = None) -> Order:
    """A personal order of a person of its own (unless an ID is given) with the ID card's two sides, signed,
    awaiting payment."""
    holder = {"phone": phone} if phone else {}
    return factories.personal_order(session, upload_folder, business_type=business_type, name=name,
                                    id_number=id_number or factories.resident_id(), **holder)


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
    """A paid personal order approved (by the state machine alone: no password sent), its certificate
    password set: the station programs its key next."""
    order = personal_payment(session, upload_folder, **overrides).order
    order.move_to(OrderStatus.IN_REVIEW, "staff:test")
    order.certificate_password = "Pw" + uuid.uuid4().hex[:8]
    order.move_to(OrderStatus.APPROVED, "staff:test")
    session.flush()
    return order
