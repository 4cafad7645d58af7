"""What the scheduled `billing sweep` finishes: refunds the provider did not take yet, and
invoices the issuer could not make when the payment or refund happened."""
from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from billing.invoices import blue_in_force, invoiceable_payment
from models import BANK_TRANSFER, Invoice, InvoiceKind, Order, Payment, PaymentStatus, Refund, RefundStatus


def refunds_to_send(session: Session) -> list[int]:
    """Confirmed refunds the provider has not taken yet (a bank transfer is paid back by hand)."""
    return list(session.scalars(select(Refund.id).join(Payment, Payment.id == Refund.payment_id)
                                .where(Refund.status == RefundStatus.CONFIRMED, Payment.provider != BANK_TRANSFER)
                                .order_by(Refund.id)))


def orders_without_invoice(session: Session) -> list[int]:
    """Paid orders that never got a blue invoice (a voided one counts: finance decided), leaving
    out those being refunded, cancelled or rejected."""
    any_blue = exists().where(Invoice.order_id == Payment.order_id, Invoice.kind == InvoiceKind.BLUE)
    return list(session.scalars(select(Payment.order_id).join(Order, Order.id == Payment.order_id)
                                .where(invoiceable_payment(), ~any_blue).order_by(Payment.order_id)))


def refunded_orders_with_invoice(session: Session) -> list[int]:
    """Refunded orders whose invoice is still in force: the red invoice is owed."""
    return list(session.scalars(select(Payment.order_id).where(Payment.status == PaymentStatus.REFUNDED,
                                                               blue_in_force(Payment.order_id))
                                .order_by(Payment.order_id)))
