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
    factories.worker_round(app)  # the invoice
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
    factories.worker_round(app)  # the red invoice
    kinds = {i.kind: i for i in db_session.scalars(select(Invoice).where(Invoice.order_id == order.id))}
    assert kinds[InvoiceKind.BLUE].status == InvoiceStatus.REVERSED
    assert kinds[InvoiceKind.RED].original_id == kinds[InvoiceKind.BLUE].id
    actions = [e.action for e in order.audit_entries]
    assert {"refund.proposed", "refund.confirmed", "refund.succeeded", "invoice.reversed"} <= set(actions)
    sms = latest_for(db_session, order.agent.phone)
    assert sms.template == "refund_succeeded" and "300.00元已按原支付方式退回" in sms.text


def _rejected_with_refund(app, session, services) -> tuple[Order, Refund]:
    order = _paid_through_the_provider(app, session, services)
    _reject(session, order)
    return order, session.scalar(select(Payment).where(Payment.order_id == order.id)).refund


def _provider_refunds(services, number: str) -> list[str]:
    """The refunds the provider's own ledger holds for a trade."""
    with services.provider._ledger() as ledger:
        return [row["out_request_no"] for row in ledger.execute(
            "SELECT out_request_no FROM refunds WHERE out_trade_no = ?", (number,))]


def _sweep(runner) -> str:
    result = runner.invoke(args=["billing", "sweep"])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_refund_whose_answer_was_lost_is_settled_by_the_refund_query(app, db_session, billing_services, runner):
    order, refund = _rejected_with_refund(app, db_session, billing_services)
    provider = billing_services.provider
    real_refund, sent = provider.refund, []

    def answer_lost(out_trade_no, cents, request_no, reason):
        sent.append(request_no)
        real_refund(out_trade_no, cents, request_no, reason)  # the provider refunds...
        raise checkout.ProviderError("timed out")  # ...but the answer is lost

    provider.refund = answer_lost
    refunds.confirm_refund(db_session, billing_services, refund, add_staff(db_session, StaffRole.FINANCE),
                           now=utcnow())
    assert refund.status == RefundStatus.CONFIRMED and refund.last_error == "timed out"
    refund_id, request_no, number = refund.id, refund.out_request_no, order.number
    db_session.commit()

    assert "refunds sent 1" in _sweep(runner)

    refund = db_session.get(Refund, refund_id)
    assert refund.status == RefundStatus.SUCCEEDED and refund.attempts == 2 and refund.last_error is None
    assert sent == [request_no]  # the query found it made: not sent a second time
    assert _provider_refunds(billing_services, number) == [request_no]
    assert refund.payment.status == PaymentStatus.REFUNDED
    settled = [e for e in refund.payment.order.audit_entries if e.action == "refund.succeeded"]
    assert [e.note for e in settled] == ["found made by the refund query"]


def test_a_refund_the_provider_never_received_is_sent_again_once(app, db_session, billing_services, runner):
    order, refund = _rejected_with_refund(app, db_session, billing_services)
    provider = billing_services.provider
    real_refund, sent = provider.refund, []

    def lost_on_the_way(out_trade_no, cents, request_no, reason):
        sent.append(request_no)
        if len(sent) == 1:
            raise checkout.ProviderError("connection reset")  # the request never reached the provider
        return real_refund(out_trade_no, cents, request_no, reason)

    provider.refund = lost_on_the_way
    refunds.confirm_refund(db_session, billing_services, refund, add_staff(db_session, StaffRole.FINANCE),
                           now=utcnow())
    refund_id, request_no, number = refund.id, refund.out_request_no, order.number
    db_session.commit()

    _sweep(runner)
    _sweep(runner)  # a settled refund is not looked at again

    refund = db_session.get(Refund, refund_id)
    assert refund.status == RefundStatus.SUCCEEDED and refund.attempts == 2
    assert sent == [request_no] * 2  # the same request number, sent once more
    assert _provider_refunds(billing_services, number) == [request_no]
    assert provider.query(number).status == "TRADE_CLOSED"


def test_a_refund_the_query_cannot_settle_waits_for_the_next_sweep(app, db_session, billing_services, runner):
    order, refund = _rejected_with_refund(app, db_session, billing_services)
    provider = billing_services.provider
    real_refund, real_query, sent = provider.refund, provider.query_refund, []

    def refund_lost(*args):
        sent.append(args)
        real_refund(*args)
        raise checkout.ProviderError("timed out")

    def query_down(*args):
        raise checkout.ProviderError("Alipay unreachable")

    provider.refund, provider.query_refund = refund_lost, query_down
    refunds.confirm_refund(db_session, billing_services, refund, add_staff(db_session, StaffRole.FINANCE),
                           now=utcnow())
    refund_id = refund.id
    db_session.commit()

    result = runner.invoke(args=["billing", "sweep"])
    assert result.exit_code == 1 and "failed 1" in result.output
    refund = db_session.get(Refund, refund_id)
    assert refund.status == RefundStatus.CONFIRMED and refund.last_error == "refund query: Alipay unreachable"
    assert len(sent) == 1  # an unanswered question is no reason to send again

    provider.query_refund = real_query
    _sweep(runner)
    assert db_session.get(Refund, refund_id).status == RefundStatus.SUCCEEDED and len(sent) == 1


def test_the_sandboxs_lost_trigger_loses_a_refunds_first_answer(app, db_session, billing_services, runner):
    order = factories.unpaid_order(db_session, app.config["UPLOAD_FOLDER"])
    order.number = order.number[:8] + "LOST"  # the sandbox's trigger rides on the trade number
    db_session.flush()
    payment, _qr = checkout.payment_qr_code(db_session, billing_services, order)
    [params] = billing_services.provider.pay(order.number)
    checkout.receive_notification(db_session, billing_services, params, now=utcnow())
    review_operations.enqueue_paid_order(db_session, order, utcnow())
    _reject(db_session, order)
    refund = payment.refund
    refunds.confirm_refund(db_session, billing_services, refund, add_staff(db_session, StaffRole.FINANCE),
                           now=utcnow())
    assert refund.status == RefundStatus.CONFIRMED and "was lost" in refund.last_error
    refund_id = refund.id
    db_session.commit()

    _sweep(runner)

    assert db_session.get(Refund, refund_id).status == RefundStatus.SUCCEEDED
    assert _provider_refunds(billing_services, order.number) == [refund.out_request_no]


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
