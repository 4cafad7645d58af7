"""After-sale orders (a replacement, a revocation, an information change) of an organisation that holds
a certificate, made as the public side makes them, and their approval as the console does it."""
from __future__ import annotations

from documents.materials import current_materials
from models import (
    BusinessType,
    Certificate,
    Order,
    Payment,
    PaymentStatus,
    RevocationReason,
    Staff,
    Token,
    TokenState,
)
from models.business import ORDER_CHECKLIST_KEY, order_checks
from review import operations
from review.forms import CHECKLIST
from review.identity import SandboxVerifier
from tests import factories


def registered_certificate(session, order: Order, serial: str, *, key: TokenState = TokenState.ACTIVE) -> Certificate:
    """A certificate of `order` in the register (of a CA row of its own: nothing is signed) on the key
    `key-<serial>`, which is in state `key`."""
    certificate = factories.registered_certificate(session, order, serial, days_held=1, days_left=365)
    hold(session, certificate, key)
    return certificate


def hold(session, certificate: Certificate, state: TokenState = TokenState.ACTIVE) -> Token:
    """The key the certificate was written to, in `state`, as the station and the courier leave it."""
    certificate.media_serial = f"key-{certificate.serial_number[-12:]}"
    token = Token(serial=certificate.media_serial, model="UKEY-RS", state=state, order_id=certificate.order_id)
    session.add(token)
    session.flush()
    return token


def after_sale(session, upload_folder, certificate: Certificate, business_type: BusinessType,
               reason: RevocationReason | None = None, **overrides) -> Order:
    """A paid after-sale order of the certificate's organisation that names the certificate (with the
    reason a replacement or revocation gives), waiting in its queue."""
    earlier = session.get(Order, certificate.order_id)
    order = factories.paid_order(session, upload_folder, business_type=business_type,
                                 credit_code=overrides.pop("credit_code", earlier.organisation.credit_code),
                                 org_name=earlier.organisation.name, **overrides)
    order.previous_order_id, order.certificate_id = earlier.id, certificate.id
    order.revocation_reason = int(reason) if reason is not None else None
    session.flush()
    return order


def paid(session, order: Order) -> Order:
    """The order's payment recorded (as checkout, or finance matching a transfer, records it)."""
    session.add(Payment(order_id=order.id, provider="sandbox", out_trade_no=order.number,
                        amount_cents=order.price_cents, status=PaymentStatus.PAID, trade_no=f"2088{order.number}",
                        paid_at=order.paid_at))
    session.flush()
    return order


def ticked(session, order: Order) -> dict[str, dict[str, bool]]:
    """Every check of every current document and of the order itself ticked, as the console posts them."""
    checklist = {str(m.id): dict.fromkeys(CHECKLIST.get(kind, ("legible",)), True)
                 for kind, m in current_materials(session, order).items()}
    if order_checks(order.business_type):
        checklist[ORDER_CHECKLIST_KEY] = dict.fromkeys(order_checks(order.business_type), True)
    return checklist


def approve(session, order: Order, *reviewers: Staff) -> None:
    """Each reviewer in turn claims the order, runs the identity checks once and approves it (two
    senior reviewers for dual control)."""
    for reviewer in reviewers:
        operations.claim_order(session, order, reviewer)
        operations.verify_identity(session, order, reviewer, SandboxVerifier())
        operations.approve_order(session, order, reviewer, checklist=ticked(session, order))
