"""Fault: the payment provider fails or times out. The sandbox's slow trades (amounts ending in
14 cents) time out at precreate and at query, as the Alipay adapter does when its timeout runs
out; the Alipay adapter itself meets a gateway on 127.0.0.1 that never answers or hangs up
half-way. The payment page says so and a retry shows the QR code of the same trade; the order
stays unpaid and whole meanwhile; the query after the timeout settles it, and the late
notification charges nothing twice. Rows (payment, payment_notification, work_item, invoice) and
the provider's trades are counted."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from billing.payments.alipay import AlipayProvider
from billing.payments.interfaces import ProviderError
from models import Invoice, Order, OrderStatus, Payment, PaymentNotification, PaymentStatus, WorkItem
from models.base import utcnow
from tests.conftest import sms_code_in
from tests.faults.misbehaving_service import CUT_SHORT, SILENT, misbehaving_service

SLOW = 30014  # 300.14 yuan: the sandbox provider does not answer in time


@pytest.fixture
def signed(client, order_number, upload_all, latest_sms, billing_services, db_session):
    """An order of this client's session, signed, at a price the sandbox is slow for."""
    order = db_session.scalar(select(Order).where(Order.number == order_number))
    order.price_cents = SLOW
    db_session.commit()
    upload_all(order_number)
    client.post(f"/apply/{order_number}/materials/done")
    client.post(f"/apply/{order_number}/signature/code")
    response = client.post(f"/apply/{order_number}/signature",
                           data={"sms_code": sms_code_in(latest_sms("13912345678"))})
    assert response.headers["Location"].endswith(f"/apply/{order_number}/pay")
    return order_number


def _counted(session, number: str) -> dict:
    session.expire_all()
    order = session.scalar(select(Order).where(Order.number == number))

    def count(model, *where):
        return session.scalar(select(func.count()).select_from(model).where(*where))

    payments = session.scalars(select(Payment).where(Payment.order_id == order.id)).all()
    return {"status": order.status, "paid_at": order.paid_at,
            "payments": [(p.status, p.amount_cents, p.trade_no) for p in payments],
            "notifications": sorted(session.scalars(select(PaymentNotification.outcome).where(
                PaymentNotification.out_trade_no == number))),
            "work_items": count(WorkItem, WorkItem.subject_id == order.id, WorkItem.kind.like("invoice%")),
            "invoices": count(Invoice, Invoice.order_id == order.id)}


def test_a_provider_that_times_out_leaves_the_order_unpaid_whole_and_payable_once(
        client, signed, db_session, billing_services, worker_round):
    provider = billing_services.provider
    page = client.get(f"/apply/{signed}/pay").get_data(as_text=True)
    assert 'id="payment-error"' in page and 'id="pay-qr"' not in page
    assert "支付服务暂时不可用，请一分钟后再试。" in page  # "The payment service is not available right now …"
    assert f'href="/apply/{signed}/pay"' in page  # the retry
    unpaid = _counted(db_session, signed)
    assert unpaid["status"] is OrderStatus.AWAITING_PAYMENT and unpaid["paid_at"] is None
    assert unpaid["payments"] == [(PaymentStatus.PENDING, SLOW, None)]
    assert provider.describe(signed)["status"] == "WAIT_BUYER_PAY"  # the timed-out precreate opened it

    retried = client.get(f"/apply/{signed}/pay").get_data(as_text=True)
    assert 'id="pay-qr"' in retried and 'id="payment-error"' not in retried
    assert _counted(db_session, signed) == unpaid  # the same trade, nothing more

    # The page polls while the provider's queries time out: still waiting, nothing changed.
    assert client.get(f"/apply/{signed}/pay/status").get_json() == {
        "status": "awaiting_payment", "waiting": True, "next": None}
    assert _counted(db_session, signed) == unpaid

    [notification] = provider.pay(signed)  # paid; the notification is late
    with time_machine.travel(utcnow() + dt.timedelta(seconds=11)):
        answer = client.get(f"/apply/{signed}/pay/status").get_json()
        assert answer == {"status": "paid", "waiting": False, "next": f"/apply/{signed}/done"}
        paid = _counted(db_session, signed)
        assert paid["status"] is OrderStatus.PAID and paid["work_items"] == 1
        [(status, amount, trade_no)] = paid["payments"]
        assert (status, amount) == (PaymentStatus.PAID, SLOW) and trade_no

        late = client.post("/pay/notify", data=notification)
        assert late.status_code == 200 and late.get_data() == b"success"  # so the provider stops sending it
        assert client.post("/pay/notify", data=notification).get_data() == b"success"
        worker_round()
        settled = _counted(db_session, signed)
        assert settled == {**paid, "notifications": ["duplicate", "duplicate"], "invoices": 1}
        assert provider.query(signed).amount_cents == SLOW  # one trade, paid once


@pytest.fixture(scope="module")
def keys() -> dict[str, str]:
    def pem(key):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()

    app_key, alipay_key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    return {"app": pem(app_key), "alipay": alipay_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()}


@pytest.mark.parametrize("failure", [SILENT, CUT_SHORT])
def test_the_alipay_adapter_tells_a_timeout_or_a_broken_answer_as_the_provider_unreachable(keys, failure):
    answer = b'{"alipay_trade_precreate_response":{"code":"10000","msg":"Success","qr_code":"https://qr"},"sign":"x"}'
    with misbehaving_service(answer, "text/html;charset=utf-8", "/gateway.do") as (url, gateway):
        gateway.mode = failure
        provider = AlipayProvider("2021000123456789", keys["app"], keys["alipay"], gateway_url=url, timeout=0.3)
        for call in (lambda: provider.precreate("20260101U000001", 100, "order", "https://ca.example/pay/notify"),
                     lambda: provider.query("20260101U000001")):
            with pytest.raises(ProviderError) as failed:
                call()
            assert failed.value.code is None and "Alipay unreachable" in str(failed.value)
