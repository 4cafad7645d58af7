"""The sandbox provider: its own ledger, its own key, Alipay's notification format and bill."""
from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import pytest

from billing.payments.alipay import AlipayProvider
from billing.payments.interfaces import BadSignature, ProviderError, RefundQuery, RefundState, TradeState
from billing.payments.sandbox import Mismatch, SandboxProvider
from models.business_time import BUSINESS_TZ

NOTIFY_URL = "http://localhost/payments/notify"


class Clock:
    def __init__(self):
        self.moment = dt.datetime(2024, 6, 10, 9, 30, tzinfo=BUSINESS_TZ)

    def __call__(self) -> dt.datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += dt.timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def sandbox_dir(tmp_path_factory):
    """One directory, so one key pair for the module; each test has its own ledger in it."""
    return tmp_path_factory.mktemp("sandbox-pay")


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def ledger_path(sandbox_dir):
    return sandbox_dir / f"ledger-{uuid.uuid4().hex}.db"


@pytest.fixture
def sandbox(ledger_path, clock):
    return SandboxProvider(ledger_path, delay_seconds=5, now=clock)


def test_paid_trade_notifies_with_a_signature_that_verifies(sandbox):
    qr = sandbox.precreate("CA100", 30000, "单位证书", NOTIFY_URL)
    [params] = sandbox.pay("CA100")

    notification = sandbox.verify_notification(params)

    assert qr.qr_code
    assert notification.out_trade_no == "CA100"
    assert notification.status is TradeState.TRADE_SUCCESS
    assert notification.amount_cents == 30000
    assert params["total_amount"] == "300.00"
    assert notification.paid_at == dt.datetime(2024, 6, 10, 9, 30, tzinfo=BUSINESS_TZ)
    assert sandbox.notifications_for("CA100") == [params]


def test_alipay_adapter_verifies_the_sandbox_notification_with_the_sandbox_key(sandbox, sandbox_dir):
    sandbox.precreate("CA101", 1, "order", NOTIFY_URL)
    [params] = sandbox.pay("CA101")
    public_pem = (sandbox_dir / "sandbox-public.pem").read_text()
    private_pem = (sandbox_dir / "sandbox-private.pem").read_text()

    notification = AlipayProvider("sandbox", private_pem, public_pem).verify_notification(params)

    assert notification.amount_cents == 1


def test_tampered_amount_fails_verification(sandbox):
    sandbox.precreate("CA102", 1, "order", NOTIFY_URL)
    [params] = sandbox.pay("CA102")

    with pytest.raises(BadSignature):
        sandbox.verify_notification({**params, "total_amount": "0.02"})


def test_amount_ending_in_13_cents_fails_precreate(sandbox):
    with pytest.raises(ProviderError) as failed:
        sandbox.precreate("CA103", 30013, "order", NOTIFY_URL)

    assert failed.value.code == "40004"
    assert sandbox.query("CA103").status is TradeState.NOT_FOUND


def test_twice_sends_two_identical_notifications(sandbox):
    sandbox.precreate("CA104-TWICE", 100, "order", NOTIFY_URL)

    first, second = sandbox.pay("CA104-TWICE")

    assert first == second
    assert sandbox.notifications_for("CA104-TWICE") == [first, second]
    sandbox.verify_notification(second)


def test_delay_pays_only_after_the_delay(sandbox, clock):
    sandbox.precreate("CA105", 100, "order DELAY", NOTIFY_URL)

    assert sandbox.pay("CA105") == []
    assert sandbox.query("CA105").status is TradeState.WAIT_BUYER_PAY
    clock.advance(5)
    status = sandbox.query("CA105")
    [params] = sandbox.notifications_for("CA105")

    assert status.status is TradeState.TRADE_SUCCESS
    assert sandbox.verify_notification(params).paid_at == clock()


def test_query_before_scanning_and_after_paying(sandbox):
    sandbox.precreate("CA106", 2500, "order", NOTIFY_URL)
    assert sandbox.query("CA106").status is TradeState.NOT_FOUND

    [params] = sandbox.pay("CA106")
    status = sandbox.query("CA106")

    assert status.status is TradeState.TRADE_SUCCESS
    assert status.amount_cents == 2500
    assert status.trade_no == params["trade_no"]
    with pytest.raises(ProviderError):
        sandbox.pay("CA106")


def test_refund_is_idempotent_per_request_number(sandbox):
    sandbox.precreate("CA107", 30000, "order", NOTIFY_URL)
    sandbox.pay("CA107")

    first = sandbox.refund("CA107", 10000, "R1", "rejected")
    again = sandbox.refund("CA107", 10000, "R1", "rejected")
    rest = sandbox.refund("CA107", 20000, "R2", "rejected")

    assert first == again
    assert first.refunded_total_cents == 10000
    assert rest.refunded_total_cents == 30000
    assert sandbox.query("CA107").status is TradeState.TRADE_CLOSED
    with pytest.raises(ProviderError):
        sandbox.refund("CA107", 1, "R3", "too much")


def test_refund_query_answers_like_alipays(sandbox):
    sandbox.precreate("CA107Q", 30000, "order", NOTIFY_URL)
    [params] = sandbox.pay("CA107Q")
    assert sandbox.query_refund("CA107Q", "R1").state is RefundState.NOT_REFUNDED

    sandbox.refund("CA107Q", 10000, "R1", "rejected")

    assert sandbox.query_refund("CA107Q", "R1") == RefundQuery("CA107Q", "R1", RefundState.REFUNDED, 10000,
                                                               params["trade_no"])
    assert sandbox.query_refund("CA107Q", "R2").state is RefundState.NOT_REFUNDED
    assert sandbox.query_refund("no-such-trade", "R1").state is RefundState.NOT_REFUNDED


def test_lost_loses_the_answer_to_a_refunds_first_request_only(sandbox):
    sandbox.precreate("CA107-LOST", 30000, "order", NOTIFY_URL)
    sandbox.pay("CA107-LOST")

    with pytest.raises(ProviderError, match="was lost") as lost:
        sandbox.refund("CA107-LOST", 30000, "R1", "rejected")

    assert lost.value.code is None  # as a timeout: nothing says whether it was made
    assert sandbox.query_refund("CA107-LOST", "R1").state is RefundState.REFUNDED
    assert sandbox.refund("CA107-LOST", 30000, "R1", "rejected").refunded_total_cents == 30000


def test_close_an_unpaid_trade(sandbox):
    sandbox.precreate("CA108", 100, "order", NOTIFY_URL)

    sandbox.close("CA108")
    sandbox.close("never-created")

    with pytest.raises(ProviderError) as refused:
        sandbox.pay("CA108")
    assert refused.value.sub_code == "ACQ.TRADE_HAS_CLOSE"


def bill_rows(text: str) -> list[dict[str, str]]:
    body = [line for line in text.splitlines() if not line.startswith("#")]
    return [{k: v.strip() for k, v in row.items()} for row in csv.DictReader(io.StringIO("\n".join(body)))]


def test_bill_lists_the_days_trades_and_refunds(sandbox, clock):
    sandbox.precreate("CA109", 30000, "单位证书", NOTIFY_URL)
    [params] = sandbox.pay("CA109")
    clock.advance(60)
    sandbox.refund("CA109", 100, "CA109-R1", "partial")

    text = sandbox.export_bill(dt.date(2024, 6, 10))
    rows = bill_rows(text)

    assert [(r["支付宝交易号"], r["商户订单号"], r["业务类型"], r["订单金额（元）"], r["商家实收（元）"],
             r["退款批次号/请求号"]) for r in rows] == [
        (params["trade_no"], "CA109", "交易", "300.00", "300.00", ""),
        (params["trade_no"], "CA109", "退款", "300.00", "-1.00", "CA109-R1"),
    ]
    assert rows[0]["完成时间"] == "2024-06-10 09:30:00"
    lines = text.splitlines()
    assert lines[0] == "#支付宝业务明细查询"
    assert "#交易合计：1笔，商家实收共300.00元" in lines
    assert "#退款合计：1笔，商家实收共-1.00元" in lines
    assert lines[-1].startswith("#导出时间：[2024年06月10日")
    assert bill_rows(sandbox.export_bill(dt.date(2024, 6, 11))) == []


def test_planted_mismatches_show_in_the_bill(sandbox):
    for out_trade_no in ("CA110", "CA111"):
        sandbox.precreate(out_trade_no, 500, "order", NOTIFY_URL)
        sandbox.pay(out_trade_no)
    unknown = sandbox.plant_mismatch(Mismatch.UNKNOWN_TRADE, amount_cents=700)
    sandbox.plant_mismatch(Mismatch.AMOUNT_DIFFERS, "CA110", amount_cents=499)
    sandbox.plant_mismatch(Mismatch.OMITTED, "CA111")

    rows = {r["商户订单号"]: r["商家实收（元）"] for r in bill_rows(sandbox.export_bill(dt.date(2024, 6, 10)))}

    assert rows == {"CA110": "4.99", unknown: "7.00"}


def test_ledger_persists_across_instances(ledger_path, clock):
    SandboxProvider(ledger_path, now=clock).precreate("CA112", 100, "order", NOTIFY_URL)
    [params] = SandboxProvider(ledger_path, now=clock).pay("CA112")

    reopened = SandboxProvider(ledger_path, now=clock)

    assert reopened.query("CA112").status is TradeState.TRADE_SUCCESS
    assert reopened.notifications_for("CA112") == [params]
    reopened.verify_notification(params)


def test_download_bill_is_the_days_export(sandbox, clock):
    sandbox.precreate("CA113", 30000, "单位证书", NOTIFY_URL)
    [params] = sandbox.pay("CA113")

    text = sandbox.download_bill(dt.date(2024, 6, 10))

    assert text == sandbox.export_bill(dt.date(2024, 6, 10))
    assert [(r["支付宝交易号"], r["商户订单号"], r["订单金额（元）"]) for r in bill_rows(text)] == [
        (params["trade_no"], "CA113", "300.00")]
    assert bill_rows(sandbox.download_bill(dt.date(2024, 6, 9))) == []


def test_a_trade_not_paid_by_its_deadline_closes_by_itself(sandbox, clock):
    sandbox.precreate("CA140", 30000, "单位证书", NOTIFY_URL, expires_at=clock.moment + dt.timedelta(hours=24))
    clock.advance(24 * 3600 - 1)
    assert sandbox.query("CA140").status == TradeState.NOT_FOUND  # open, nobody scanned yet
    clock.advance(1)
    assert sandbox.query("CA140").status == TradeState.TRADE_CLOSED
    with pytest.raises(ProviderError):
        sandbox.pay("CA140")  # a scan of the old QR code pays nothing
