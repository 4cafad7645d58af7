"""Personal certificates' orders (个人数字证书) for the after-sale tests: a holder in the order's agent place,
no organisation and no legal representative, the personal product; and its certificate in the register
(with a PEM the key helper may report, and the key it is on)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import count

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from models import (
    AgentIdentityMethod,
    BusinessType,
    CertKind,
    Channel,
    Order,
    OrderStatus,
    Person,
    PersonRole,
    Product,
    Token,
    TokenState,
    next_order_number,
)
from models.base import utcnow
from tests import factories

HOLDER_NAME = "王小明"
_serials = count(1)
# A personal order's way from the form to the holder's hands.
TO_COMPLETED = (OrderStatus.AWAITING_SIGNATURE, OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID,
                OrderStatus.IN_REVIEW, OrderStatus.APPROVED, OrderStatus.PROGRAMMING, OrderStatus.PROGRAMMED,
                OrderStatus.SHIPPED, OrderStatus.COMPLETED)


def personal_order(session, *, id_number: str, phone: str, name: str = HOLDER_NAME,
                   status: OrderStatus = OrderStatus.COMPLETED) -> Order:
    """A first application for the personal product, its holder as given, moved on to `status`."""
    product = session.scalars(select(Product).where(Product.cert_kind == CertKind.PERSONAL)).first()
    channel = session.scalars(select(Channel).filter_by(code="direct")).one()
    order = Order(number=next_order_number(session, CertKind.PERSONAL), business_type=BusinessType.NEW,
                  cert_kind=CertKind.PERSONAL, status=OrderStatus.AWAITING_MATERIALS, channel=channel, product=product,
                  media_type="card", agent_identity_method=AgentIdentityMethod.PHONE, price_cents=30000,
                  mailing_province="410000", mailing_city="410100", mailing_address="金水区花园路2号",
                  agent=Person(role=PersonRole.HOLDER, name=name, phone=phone, email="holder@example.com",
                               id_type="resident_id", id_number=id_number))
    session.add(order)
    for step in TO_COMPLETED[:TO_COMPLETED.index(status) + 1]:
        order.move_to(step, "applicant:test")
    session.flush()
    return order


@dataclass
class Held:
    """A personal certificate in its holder's hands."""

    number: str  # the certificate's order
    id_number: str
    phone: str
    serial: str  # the certificate's, hex
    media_serial: str  # the key's
    pem: str  # what the key helper reads from the key


def held_certificate(session, *, token_state: TokenState = TokenState.ACTIVE, **holder) -> Held:
    """A completed personal order, its certificate in the register (with a certificate the key helper may
    report: the register's serial, self-signed) on a key in `token_state`; committed."""
    serial = next(_serials)
    holder = {"id_number": factories.resident_id(serial), "phone": f"137{serial:08d}", **holder}
    order = personal_order(session, **holder)
    number = int.from_bytes(f"personal-{serial}".encode(), "big")
    hex_serial, media_serial = f"{number:032x}", f"PK{serial:06d}"
    pem = _certificate_pem(number, order.agent.name)
    factories.registered_certificate(session, order, hex_serial, media_serial=media_serial,
                                     subject=f"CN={order.agent.name}",
                                     der=x509.load_pem_x509_certificate(pem.encode()).public_bytes(
                                         serialization.Encoding.DER))
    token = Token(serial=media_serial, model="UKEY-RS", state=TokenState.ACTIVE, order=order, so_pin="13572468")
    session.add(token)
    session.flush()
    if token_state is TokenState.LOCKED:
        token.wrong_user_pins = 10
        token.move_to(TokenState.LOCKED, "applicant:key-helper", note="10 wrong key passwords")
    held = Held(order.number, holder["id_number"], holder["phone"], hex_serial, media_serial, pem)
    session.commit()
    return held


def _certificate_pem(serial_number: int, name: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = utcnow()
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(serial_number).not_valid_before(now - dt.timedelta(days=1))
                   .not_valid_after(now + dt.timedelta(days=300)).sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM).decode()
