"""Refunds: a rejected paid order is refunded once finance confirms, with the red invoice;
a provider failure leaves the refund to be sent again, never twice."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from billing import checkout, refunds
from models import (
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundReason,
    RefundStatus,
    StaffRole,
)
from models.base import utcnow
from notifications.outbox import latest_for
from review import operations as review_operations
from tests import factories
from tests.conftest import add_staff

# The operations queue messages, rendered with the app's settings.
pytestmark = pytest.mark.usefixtures("in_app")


def _paid_through_the_provider(app, session, services) -> Order:
    order = factories.unpaid_order(session, app.config["UPLOAD_FOLDER"])
    payment, _qr = checkout.payment_qr_code(session, services, order)
    [params] = services.provider.pay(order.number)
    settlement = checkout.receive_notification(session, services, params, now=utcnow())
    assert settlement.newly_paid
    review_operations.enqueue_paid_order(session, order, utcnow())
    return order


def _reject(session, order: Order):
    reviewer = add_staff(session, StaffRole.REVIEWER)
    review_operations.claim_order(session, order, reviewer)
    review_operations.reject_order(session, order, reviewer, reason_ids=[], note="营业执照已注销")


def test_a_rejected_paid_order_is_refunded_when_finance_confirms(app, db_session, billing_services):
    order = _paid_through_the_provider(app, db_session, billing_services)
    _reject(db_session, order)
    assert order.status == OrderStatus.REJECTED
    payment = db_session.scalar(select(Payment).where(Payment.order_id == order.id))
    refund = payment.refund
    assert refund.reason == RefundReason.REJECTED and refund.status == RefundStatus.AWAITING_CONFIRMATION
    assert payment.status == PaymentStatus.PAID  # nothing leaves before finance confirms
    assert billing_services.provider.query(order.number).status == "TRADE_SUCCESS"

    finance = add_staff(db_session, StaffRole.FINANCE)
    refunds.confirm_refund(db_session, billing_services, refund, finance, now=utcnow())
    assert refund.status == RefundStatus.SUCCEEDED and refund.confirmed_by_id == finance.id
    assert payment.status == PaymentStatus.REFUNDED
    assert billing_services.provider.query(order.number).status == "TRADE_CLOSED"
    kinds = {i.kind: i for i in db_session.scalars(select(Invoice).where(Invoice.order_id == order.id))}
    assert kinds[InvoiceKind.BLUE].status == InvoiceStatus.REVERSED
    assert kinds[InvoiceKind.RED].original_id == kinds[InvoiceKind.BLUE].id
    actions = [e.action for e in order.audit_entries]
    assert {"refund.proposed", "refund.confirmed", "refund.succeeded", "invoice.reversed"} <= set(actions)
    sms = latest_for(db_session, order.agent.phone)
    assert sms.template == "refund_succeeded" and "300.00元已按原支付方式退回" in sms.text


def test_a_failed_refund_is_sent_again_with_the_same_request_number(app, db_session, billing_services, runner):
    order = _paid_through_the_provider(app, db_session, billing_services)
    _reject(db_session, order)
    payment = db_session.scalar(select(Payment).where(Payment.order_id == order.id))
    refund = payment.refund
    provider = billing_services.provider
    real_refund, calls = provider.refund, []

    def flaky(out_trade_no, cents, request_no, reason):
        calls.append(request_no)
        if len(calls) == 1:
            real_refund(out_trade_no, cents, request_no, reason)  # the provider refunds...
            raise checkout.ProviderError("timed out")  # ...but the answer is lost
        return real_refund(out_trade_no, cents, request_no, reason)

    provider.refund = flaky
    refunds.confirm_refund(db_session, billing_services, refund, add_staff(db_session, StaffRole.FINANCE),
                           now=utcnow())
    assert refund.status == RefundStatus.CONFIRMED and refund.last_error == "timed out"
    refund_id, request_no, number = refund.id, refund.out_request_no, order.number
    db_session.commit()
    result = runner.invoke(args=["billing", "sweep"])
    assert result.exit_code == 0, result.output
    assert "refunds sent 1" in result.output
    refund = db_session.get(Refund, refund_id)
    assert refund.status == RefundStatus.SUCCEEDED and refund.attempts == 2
    assert calls == [request_no] * 2
    assert provider.query(number).status == "TRADE_CLOSED"  # refunded once: the total is not exceeded


def test_a_refund_another_sender_has_claimed_is_not_sent_again(app, db_session, billing_services):
    """Finance's "send again" and the sweep at once: the second finds the attempt taken."""
    from sqlalchemy import update

    order = _paid_through_the_provider(app, db_session, billing_services)
    _reject(db_session, order)
    refund = db_session.scalar(select(Payment).where(Payment.order_id == order.id)).refund
    refund.status = RefundStatus.CONFIRMED
    db_session.flush()
    calls = []
    billing_services.provider.refund = lambda *args: calls.append(args)
    db_session.execute(update(Refund).where(Refund.id == refund.id).values(attempts=Refund.attempts + 1)
                       .execution_options(synchronize_session=False))  # the other sender's claim
    assert refunds.execute_refund(db_session, billing_services, refund, actor="sweep", now=utcnow()) is False
    assert calls == [] and refund.attempts == 1
