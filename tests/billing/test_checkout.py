"""Paying an order: the notification endpoint, polling, duplicates, wrong amounts, races,
cancellation after 24 hours and the late payment refunded."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import func, select

from billing import checkout
from billing.payments.alipay import sign_notification
from billing.payments.sandbox import SandboxProvider
from billing.services import current_services
from models import (
    EmailMessage,
    Invoice,
    NotificationOutcome,
    Order,
    OrderStatus,
    Payment,
    PaymentNotification,
    PaymentStatus,
    Refund,
    RefundReason,
    RefundStatus,
    ReviewQueue,
)
from models.base import utcnow
from tests import factories
from tests.databases import at_once, own_app
from web.extensions import db


@pytest.fixture
def order(app, db_session, billing_services):
    """An order awaiting payment whose QR code was shown (its trade is open at the sandbox)."""
    made = factories.unpaid_order(db_session, app.config["UPLOAD_FOLDER"])
    checkout.payment_qr_code(db_session, billing_services, made)
    db_session.commit()
    return made.number


def _order(session, number: str) -> Order:
    session.expire_all()
    return session.scalar(select(Order).where(Order.number == number))


def _outcomes(session, number: str) -> list[str]:
    return list(session.scalars(select(PaymentNotification.outcome).where(
        PaymentNotification.out_trade_no == number).order_by(PaymentNotification.id)))


def test_a_signed_notification_pays_the_order_once_and_sends_it_to_review(client, db_session, billing_services, order,
                                                                          worker_round):
    [params] = billing_services.provider.pay(order)
    response = client.post("/pay/notify", data=params)
    assert response.status_code == 200 and response.get_data() == b"success"
    paid = _order(db_session, order)
    assert paid.status == OrderStatus.PAID and paid.queue == ReviewQueue.NEW and paid.sla_due_at is not None
    payment = db_session.scalar(select(Payment).where(Payment.order_id == paid.id))
    assert payment.status == PaymentStatus.PAID and payment.trade_no == params["trade_no"]
    # a worker issues the invoice and e-mails it to the agent with the PDF attached
    assert db_session.scalar(select(Invoice).where(Invoice.order_id == paid.id)) is None, "not in the request"
    order_id = paid.id
    worker_round()
    paid = db_session.get(Order, order_id)
    invoice = db_session.scalar(select(Invoice).where(Invoice.order_id == paid.id))
    assert invoice.total_cents == paid.price_cents and invoice.buyer_name == paid.organisation.name
    mail = db_session.scalar(select(EmailMessage).where(EmailMessage.order_id == paid.id))
    assert mail.to_address == paid.agent.email and invoice.number in mail.subject
    assert [(a.filename, a.content[:5]) for a in mail.attachments] == [(invoice.filename, b"%PDF-")]
    assert mail.status == "sent"

    # the same notification again (Alipay repeats until it reads "success") changes nothing
    again = client.post("/pay/notify", data=params)
    assert again.get_data() == b"success"
    assert _outcomes(db_session, order) == ["accepted", "duplicate"]
    assert db_session.scalar(select(func.count()).select_from(Invoice).where(Invoice.order_id == order_id)) == 1
    assert _order(db_session, order).status == OrderStatus.PAID


def test_a_bad_signature_is_rejected_and_logged(client, db_session, billing_services, order, tmp_path):
    [params] = billing_services.provider.pay(order)
    forger = SandboxProvider(tmp_path / "forger" / "ledger.sqlite3")  # another RSA key
    forged = sign_notification({k: v for k, v in params.items() if k not in ("sign", "sign_type")},
                               forger.private_key)
    response = client.post("/pay/notify", data={**forged, "padding": "x" * 100_000})
    assert response.status_code == 400 and response.get_data() == b"fail"
    assert _order(db_session, order).status == OrderStatus.AWAITING_PAYMENT
    assert _outcomes(db_session, order) == ["bad_signature"]
    # what anyone may post is kept short: the fields finance reads and a digest of the rest
    kept = db_session.scalar(select(PaymentNotification.params).where(PaymentNotification.out_trade_no == order))
    assert kept["total_amount"] == params["total_amount"] and len(kept["sha256"]) == 64
    assert "padding" not in kept and len(str(kept)) < 2000


def test_a_tampered_amount_breaks_the_signature(client, db_session, billing_services, order):
    [params] = billing_services.provider.pay(order)
    response = client.post("/pay/notify", data={**params, "total_amount": "0.01"})
    assert response.status_code == 400
    assert _order(db_session, order).status == OrderStatus.AWAITING_PAYMENT
    assert _outcomes(db_session, order) == ["bad_signature"]


def test_a_signed_notification_for_the_wrong_amount_is_rejected(client, db_session, billing_services, order):
    [params] = billing_services.provider.pay(order)
    body = {k: v for k, v in params.items() if k not in ("sign", "sign_type")}
    resigned = sign_notification({**body, "total_amount": "0.01", "receipt_amount": "0.01"},
                                 billing_services.provider.private_key)
    response = client.post("/pay/notify", data=resigned)
    assert response.status_code == 400
    assert _order(db_session, order).status == OrderStatus.AWAITING_PAYMENT
    entry = db_session.scalar(select(PaymentNotification).where(PaymentNotification.out_trade_no == order))
    assert entry.outcome == NotificationOutcome.AMOUNT_MISMATCH and "costs" in entry.detail
    assert entry.params["total_amount"] == "0.01"  # kept as received, for finance


def test_notifications_out_of_order(client, db_session, billing_services, order):
    """A 'waiting' notification arriving after the payment, and an unknown trade, change nothing."""
    [paid] = billing_services.provider.pay(order)
    body = {k: v for k, v in paid.items() if k not in ("sign", "sign_type")}
    waiting = sign_notification({**body, "trade_status": "WAIT_BUYER_PAY"}, billing_services.provider.private_key)
    assert client.post("/pay/notify", data=paid).get_data() == b"success"
    assert client.post("/pay/notify", data=waiting).get_data() == b"success"  # nothing to retry
    assert _order(db_session, order).status == OrderStatus.PAID
    unknown = sign_notification({**body, "out_trade_no": "19990101U000001"}, billing_services.provider.private_key)
    assert client.post("/pay/notify", data=unknown).status_code == 400
    assert _outcomes(db_session, order) == ["accepted", "ignored"]


@pytest.mark.usefixtures("in_app")  # its operations queue messages, rendered in the app
def test_the_payment_page_finds_a_payment_whose_notification_is_lost(client, db_session, billing_services, order):
    billing_services.provider.pay(order)  # the notification never arrives
    order_row = _order(db_session, order)
    checkout_settlement = checkout.check_with_provider(db_session, billing_services, order_row, now=utcnow())
    assert checkout_settlement.newly_paid
    assert _order(db_session, order).status == OrderStatus.PAID


def test_cancelled_after_24_hours_with_the_trade_closed(app, runner, db_session, billing_services, order):
    signed_at = _order(db_session, order).signed_at
    with time_machine.travel(signed_at + dt.timedelta(hours=23, minutes=59), tick=False):
        result = runner.invoke(args=["billing", "cancel-unpaid"])
        assert "0 order(s) cancelled" in result.output
    assert _order(db_session, order).status == OrderStatus.AWAITING_PAYMENT
    with time_machine.travel(signed_at + dt.timedelta(hours=24, minutes=1), tick=False):
        result = runner.invoke(args=["billing", "cancel-unpaid"])
        assert result.exit_code == 0 and "1 order(s) cancelled" in result.output
    cancelled = _order(db_session, order)
    assert cancelled.status == OrderStatus.CANCELLED
    assert cancelled.cancelled_at == signed_at + dt.timedelta(hours=24, minutes=1)
    assert billing_services.provider.query(order).status == "TRADE_CLOSED"  # a late scan cannot pay it
    payment = db_session.scalar(select(Payment).where(Payment.order_id == cancelled.id))
    assert payment.status == PaymentStatus.CLOSED


def test_a_payment_arriving_after_cancellation_is_refunded(app, client, runner, db_session, billing_services, tmp_path):
    """The buyer scanned before the deadline; the sandbox's DELAY trigger completes the payment
    only after the order was cancelled."""
    made = factories.unpaid_order(db_session, app.config["UPLOAD_FOLDER"])
    made.number = made.number[:8] + "DELAY"  # the sandbox's trigger rides on the trade number
    checkout.payment_qr_code(db_session, billing_services, made)
    number = made.number
    db_session.commit()
    billing_services.provider.delay_seconds = 0
    assert billing_services.provider.pay(number) == []  # scanned, completing later
    order_row = _order(db_session, number)
    # the trade is not paid at the provider when we close it...
    payment = db_session.scalar(select(Payment).where(Payment.order_id == order_row.id))
    payment.status = PaymentStatus.CLOSED
    order_row.move_to(OrderStatus.CANCELLED, "system:test")
    payment_id, amount = payment.id, payment.amount_cents
    db_session.commit()
    # ...but the money arrives anyway, and the notification with it
    [params] = billing_services.provider.notifications_for(number)
    assert client.post("/pay/notify", data=params).get_data() == b"success"
    refund = db_session.scalar(select(Refund).join(Payment).where(Payment.out_trade_no == number))
    assert refund.reason == RefundReason.LATE_PAYMENT and refund.status == RefundStatus.SUCCEEDED
    assert refund.amount_cents == amount
    assert _order(db_session, number).status == OrderStatus.CANCELLED
    assert db_session.get(Payment, payment_id).status == PaymentStatus.REFUNDED
    assert billing_services.provider.query(number).status == "TRADE_CLOSED"  # refunded in full
    assert _outcomes(db_session, number) == ["late"]
    # a repeat of the notification refunds nothing more
    assert client.post("/pay/notify", data=params).get_data() == b"success"
    assert db_session.scalar(select(func.count()).select_from(Refund)) == 1


def test_concurrent_notifications_pay_exactly_once(tmp_path, tmp_path_factory, database_url):
    with own_app(tmp_path, tmp_path_factory, database_url) as app:
        with app.app_context():
            services = current_services()
            made = factories.unpaid_order(db.session, app.config["UPLOAD_FOLDER"])
            checkout.payment_qr_code(db.session, services, made)
            number = made.number
            db.session.commit()
        [params] = services.provider.pay(number)
        clients = [app.test_client() for _ in range(4)]
        answers = at_once([lambda c=c: c.post("/pay/notify", data=params).get_data() for c in clients])
        assert answers == [b"success"] * 4
        at_once([lambda: factories.worker_round(app)] * 2)  # two workers, the invoice made once
        with app.app_context():
            paid = db.session.scalar(select(Order).where(Order.number == number))
            assert paid.status == OrderStatus.PAID
            outcomes = db.session.scalars(select(PaymentNotification.outcome)).all()
            assert sorted(outcomes) == ["accepted"] + ["duplicate"] * 3
            assert db.session.scalar(select(func.count()).select_from(Invoice)) == 1
            statuses = [e.after for e in paid.audit_entries if e.action == "order.status"]
            assert statuses.count({"status": "paid"}) == 1


def test_the_daily_reconciliation_command_flags_a_planted_mismatch(runner, db_session, billing_services, client, order):
    from billing.payments.sandbox import Mismatch

    [params] = billing_services.provider.pay(order)
    client.post("/pay/notify", data=params)
    day = utcnow().astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    clean = runner.invoke(args=["billing", "reconcile", "--day", day.isoformat()])
    assert clean.exit_code == 0 and "matched 1" in clean.output, clean.output
    billing_services.provider.plant_mismatch(Mismatch.AMOUNT_DIFFERS, order, amount_cents=100)
    flagged = runner.invoke(args=["billing", "reconcile", "--day", day.isoformat()])
    assert flagged.exit_code == 1 and f"amount_differs: {order} ours 30000 bill 100" in flagged.output


def test_cancellation_goes_on_when_the_provider_says_the_trade_is_closed_already(db_session, billing_services,
                                                                               order):
    """A run that closed the trade and crashed before its commit: the next run's close is refused
    (as Alipay refuses closing a closed trade), the query says closed, and the order is cancelled."""
    provider = billing_services.provider
    provider.close(order)
    refusing = checkout.ProviderError("ACQ.TRADE_STATUS_ERROR", code="40004", sub_code="ACQ.TRADE_STATUS_ERROR")

    def close_refused(out_trade_no):
        raise refusing

    provider.close = close_refused
    order_row = _order(db_session, order)
    assert checkout.cancel_unpaid(db_session, billing_services, order_row, now=utcnow()) is None
    assert order_row.status == OrderStatus.CANCELLED
