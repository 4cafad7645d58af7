"""Reconciliation: the sandbox provider's own bill (its ledger, not our tables) against our payments
and refunds of a Beijing business day."""
from __future__ import annotations

import datetime as dt
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import event, insert, select

from billing.payments.sandbox import BILL_COLUMNS, SandboxProvider
from billing.payments.sandbox import Mismatch as Plant
from billing.reconciliation import (
    REFUND,
    TRADE,
    BillRow,
    MismatchKind,
    Reconciliation,
    parse_bill,
    reconcile,
    reconcile_with_provider,
)
from models import Order, Payment, PaymentStatus, Refund, RefundReason, RefundStatus
from models.business_time import BUSINESS_TZ
from tests.factories import paid_order

NOTIFY_URL = "http://localhost/payments/notify"
DAY = dt.date(2024, 6, 10)


class Clock:
    def __init__(self):
        self.moment = dt.datetime(2024, 6, 10, 9, 30, tzinfo=BUSINESS_TZ)

    def __call__(self) -> dt.datetime:
        return self.moment

    def set(self, *args: int) -> None:
        self.moment = dt.datetime(*args, tzinfo=BUSINESS_TZ)

    def advance(self, seconds: float) -> None:
        self.moment += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sandbox(tmp_path, clock):
    return SandboxProvider(tmp_path / "ledger.sqlite3", delay_seconds=0.1, now=clock)


@pytest.fixture
def new_order(app, db_session):
    def make() -> Order:
        return paid_order(db_session, app.config["UPLOAD_FOLDER"])

    return make


@pytest.fixture
def pay(db_session, sandbox, new_order):
    """pay(amount_cents) -> Payment: a new order, paid at the sandbox at the clock's time, and the
    payment recorded in our books as the notification tells it."""

    def pay_order(amount_cents: int = 30000, *, order: Order | None = None,
                  status: PaymentStatus = PaymentStatus.PAID) -> Payment:
        order = order or new_order()
        sandbox.precreate(order.number, amount_cents, "单位证书", NOTIFY_URL)
        [params] = sandbox.pay(order.number)
        notification = sandbox.verify_notification(params)
        payment = Payment(order_id=order.id, provider="sandbox", out_trade_no=order.number, amount_cents=amount_cents,
                          status=status, trade_no=notification.trade_no, paid_at=notification.paid_at)
        db_session.add(payment)
        db_session.flush()
        return payment

    return pay_order


def record_refund(session, payment: Payment, amount_cents: int, *, status: RefundStatus = RefundStatus.SUCCEEDED,
                  succeeded_at: dt.datetime | None = None, out_request_no: str | None = None) -> Refund:
    refund = Refund(payment_id=payment.id, out_request_no=out_request_no or f"{payment.out_trade_no}-R1",
                    amount_cents=amount_cents, reason=RefundReason.REJECTED, status=status, requested_by="finance",
                    succeeded_at=succeeded_at)
    if status is RefundStatus.SUCCEEDED:
        payment.status = PaymentStatus.REFUNDED
    session.add(refund)
    session.flush()
    return refund


def summary(result: Reconciliation) -> list[tuple]:
    return [(m.kind, m.out_trade_no, m.order_number, m.ours_cents, m.bill_cents) for m in result.mismatches]


@contextmanager
def counted_selects(session):
    engine = session.get_bind().engine
    selects: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield selects
    finally:
        event.remove(engine, "before_cursor_execute", count)


# --- reading the bill --------------------------------------------------------------------------


def test_parse_a_sandbox_export(sandbox, clock):
    sandbox.precreate("CA200", 30000, "单位证书", NOTIFY_URL)
    [params] = sandbox.pay("CA200")
    clock.advance(3600)
    sandbox.refund("CA200", 100, "CA200-R1", "partial")
    clock.set(2024, 6, 10, 23, 59, 59)
    unknown = sandbox.plant_mismatch(Plant.UNKNOWN_TRADE, amount_cents=701)

    rows = parse_bill(sandbox.export_bill(DAY))

    assert rows == [
        BillRow(params["trade_no"], "CA200", TRADE, 30000, dt.datetime(2024, 6, 10, 1, 30, tzinfo=dt.UTC), None),
        BillRow(params["trade_no"], "CA200", REFUND, 100, dt.datetime(2024, 6, 10, 2, 30, tzinfo=dt.UTC), "CA200-R1"),
        BillRow(rows[2].trade_no, unknown, TRADE, 701, dt.datetime(2024, 6, 10, 15, 59, 59, tzinfo=dt.UTC), None),
    ]
    assert rows[2].trade_no.startswith("20240610")
    assert rows[0].finished_at.utcoffset() == dt.timedelta(hours=8)
    assert parse_bill(sandbox.export_bill(dt.date(2024, 6, 11))) == []


def bill_text(*lines: list[str], summary_lines: tuple[str, ...] = ("#交易合计：1笔，商家实收共300.00元",)) -> str:
    header = ",".join(BILL_COLUMNS)
    body = "\n".join(",".join(cell + "\t" for cell in cells) for cells in lines)
    return "\n".join(["#支付宝业务明细查询", "#账号：[2088000000000000]", header, body, *summary_lines, ""])


def bill_line(out_trade_no: str = "CA1", kind: str = "交易", finished: str = "2024-06-10 09:30:00",
              order_amount: str = "300.00", received: str = "300.00", request_no: str = "",
              trade_no: str = "2024061022000000000000000001") -> list[str]:
    return [trade_no, out_trade_no, kind, "单位证书", "2024-06-10 09:29:00", finished, "", "", "", "",
            "sbx***@sandbox.invalid", order_amount, received, "0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00",
            "0.00", request_no, "0.00", "0.00", ""]


def test_parse_tolerates_bom_crlf_blank_lines_and_a_summary_without_hash():
    header = ",".join(BILL_COLUMNS)
    line = ",".join(cell + "\t" for cell in bill_line())
    text = "\r\n".join(["\ufeff#支付宝业务明细查询", "", header, "", line, "   ", "交易合计：1笔，商家实收共300.00元",
                        "#导出时间：[2024年06月11日 09:00:00]", ""])

    [row] = parse_bill(text)

    assert (row.out_trade_no, row.kind, row.amount_cents, row.refund_request_no) == ("CA1", TRADE, 30000, None)
    assert row.trade_no == "2024061022000000000000000001"


def test_parse_reads_a_refund_as_a_positive_amount():
    [row] = parse_bill(bill_text(bill_line(kind="退款", received="-12.34", request_no="CA1-R1"),
                                 summary_lines=("#退款合计：1笔，商家实收共-12.34元",)))

    assert (row.kind, row.amount_cents, row.refund_request_no) == (REFUND, 1234, "CA1-R1")


@pytest.mark.parametrize(("text", "message"), [
    ("", "no header row"),
    ("#支付宝业务明细查询\n#only comments\n", "no header row"),
    ("<html><body>502 Bad Gateway</body></html>\n", "not a trade bill"),
    ("门店编号,门店名称,交易订单总笔数\n合计,,1\n", "not a trade bill.*支付宝交易号"),
    (bill_text(bill_line(), bill_line(out_trade_no="CA2")), "summary counts 1 trade lines but 2"),
    (bill_text(bill_line(order_amount="300.001")), "line 4: 订单金额（元） '300.001' is not an amount"),
    (bill_text(bill_line(finished="10/06/2024 09:30")), "line 4: 完成时间 .* is not a time"),
    (bill_text(bill_line(kind="提现")), "unknown 业务类型 '提现'"),
    (bill_text(bill_line()[:10]), "line 4: 10 cells where the header has 25"),
])
def test_what_is_not_a_bill_is_refused_clearly(text, message):
    with pytest.raises(ValueError, match=message):
        parse_bill(text)


# --- reconciling a day -------------------------------------------------------------------------


def test_a_clean_day_has_no_mismatch(db_session, sandbox, clock, pay):
    first = pay(30000)
    clock.advance(60)
    second = pay(50000)
    clock.advance(60)
    third = pay(1)

    result = reconcile(db_session, parse_bill(sandbox.download_bill(DAY)), DAY)

    assert result.clean and result.mismatches == []
    assert (result.bill_trades, result.our_trades, result.matched_trades) == (3, 3, 3)
    assert result.bill_trade_cents == result.our_trade_cents == 80001
    assert (result.bill_refunds, result.our_refunds, result.matched) == (0, 0, 3)
    assert {first.out_trade_no, second.out_trade_no, third.out_trade_no} <= {
        p.out_trade_no for p in db_session.scalars(select(Payment))}


def test_each_planted_mismatch_is_found(db_session, sandbox, clock, pay):
    differs, omitted, fine = pay(30000), pay(50000), pay(20000)
    clock.advance(120)
    unknown = sandbox.plant_mismatch(Plant.UNKNOWN_TRADE, amount_cents=70000)
    sandbox.plant_mismatch(Plant.AMOUNT_DIFFERS, differs.out_trade_no, amount_cents=29900)
    sandbox.plant_mismatch(Plant.OMITTED, omitted.out_trade_no)

    result = reconcile_with_provider(db_session, sandbox, DAY)

    assert summary(result) == [
        (MismatchKind.PAID_BUT_UNKNOWN, unknown, None, None, 70000),
        (MismatchKind.KNOWN_BUT_UNPAID, omitted.out_trade_no, omitted.order.number, 50000, None),
        (MismatchKind.AMOUNT_DIFFERS, differs.out_trade_no, differs.order.number, 30000, 29900),
    ]
    assert result.matched_trades == 1
    assert (result.bill_trades, result.bill_trade_cents) == (3, 29900 + 20000 + 70000)
    assert (result.our_trades, result.our_trade_cents) == (3, 30000 + 50000 + 20000)
    assert not result.clean
    [unknown_line] = result.of_kind(MismatchKind.PAID_BUT_UNKNOWN)
    assert unknown_line.trade_no and "no order or payment" in unknown_line.note
    assert fine.out_trade_no not in {m.out_trade_no for m in result.mismatches}


def test_a_trade_paid_at_the_provider_but_pending_in_our_books(db_session, sandbox, pay, new_order):
    # Our status decides, whatever time the row carries.
    missed = pay(30000, status=PaymentStatus.PENDING)
    bare_order = new_order()
    sandbox.precreate(bare_order.number, 12000, "单位证书", NOTIFY_URL)
    sandbox.pay(bare_order.number)
    db_session.flush()

    result = reconcile_with_provider(db_session, sandbox, DAY)

    assert sorted(summary(result)) == sorted([
        (MismatchKind.PAID_BUT_UNKNOWN, missed.out_trade_no, missed.order.number, None, 30000),
        (MismatchKind.PAID_BUT_UNKNOWN, bare_order.number, bare_order.number, None, 12000),
    ])
    notes = {m.out_trade_no: m.note for m in result.mismatches}
    assert "pending" in notes[missed.out_trade_no]
    assert "no payment" in notes[bare_order.number]
    assert result.our_trades == 0


def test_refunds_that_agree_match(db_session, sandbox, clock, pay):
    payment = pay(30000)
    clock.advance(600)
    sandbox.refund(payment.out_trade_no, 30000, f"{payment.out_trade_no}-R1", "rejected")
    record_refund(db_session, payment, 30000, succeeded_at=clock())

    result = reconcile_with_provider(db_session, sandbox, DAY)

    assert result.clean
    assert (result.matched_trades, result.matched_refunds) == (1, 1)
    assert (result.bill_refunds, result.bill_refund_cents, result.our_refunds, result.our_refund_cents) == (
        1, 30000, 1, 30000)
    assert result.bill_net_cents == result.our_net_cents == 0


def test_refund_mismatches(db_session, sandbox, clock, pay):
    unconfirmed, unsent, smaller = pay(30000), pay(40000), pay(50000)
    clock.advance(600)
    # The provider refunded, but our refund is still waiting for finance's confirmation.
    sandbox.refund(unconfirmed.out_trade_no, 30000, f"{unconfirmed.out_trade_no}-R1", "rejected")
    # (Its status decides, whatever time the row carries.)
    record_refund(db_session, unconfirmed, 30000, status=RefundStatus.AWAITING_CONFIRMATION, succeeded_at=clock())
    # We recorded a refund as succeeded that the provider never made.
    record_refund(db_session, unsent, 40000, succeeded_at=clock())
    # The provider gave back less than we recorded.
    sandbox.refund(smaller.out_trade_no, 10000, f"{smaller.out_trade_no}-R1", "rejected")
    record_refund(db_session, smaller, 50000, succeeded_at=clock())
    # A refund at the provider of a trade we know nothing of.
    stranger = sandbox.plant_mismatch(Plant.UNKNOWN_TRADE, amount_cents=900)
    sandbox.refund(stranger, 900, "STRANGER-R1", "?")

    result = reconcile_with_provider(db_session, sandbox, DAY)

    refund_kinds = {MismatchKind.REFUNDED_BUT_UNKNOWN, MismatchKind.KNOWN_BUT_NOT_REFUNDED,
                    MismatchKind.REFUND_AMOUNT_DIFFERS}
    assert sorted((m.kind, m.out_trade_no, m.order_number, m.ours_cents, m.bill_cents, m.out_request_no)
                  for m in result.mismatches if m.kind in refund_kinds) == sorted([
        (MismatchKind.REFUNDED_BUT_UNKNOWN, unconfirmed.out_trade_no, unconfirmed.order.number, None, 30000,
         f"{unconfirmed.out_trade_no}-R1"),
        (MismatchKind.REFUNDED_BUT_UNKNOWN, stranger, None, None, 900, "STRANGER-R1"),
        (MismatchKind.KNOWN_BUT_NOT_REFUNDED, unsent.out_trade_no, unsent.order.number, 40000, None,
         f"{unsent.out_trade_no}-R1"),
        (MismatchKind.REFUND_AMOUNT_DIFFERS, smaller.out_trade_no, smaller.order.number, 50000, 10000,
         f"{smaller.out_trade_no}-R1"),
    ])
    assert "awaiting_confirmation" in next(m.note for m in result.mismatches
                                           if m.out_trade_no == unconfirmed.out_trade_no)
    assert result.matched_refunds == 0
    assert (result.bill_refunds, result.bill_refund_cents) == (3, 30000 + 10000 + 900)
    assert (result.our_refunds, result.our_refund_cents) == (2, 40000 + 50000)
    # The trades themselves were all paid as recorded (the stranger's aside).
    assert result.matched_trades == 3


def test_day_boundaries_are_beijing_time(db_session, sandbox, clock, pay):
    clock.set(2024, 6, 10, 23, 30)
    late = pay(30000)
    clock.set(2024, 6, 11, 0, 10)  # still 10 June in UTC (16:10)
    early = pay(50000)
    assert late.paid_at.astimezone(dt.UTC).date() == early.paid_at.astimezone(dt.UTC).date() == DAY

    tenth = reconcile_with_provider(db_session, sandbox, DAY)
    eleventh = reconcile_with_provider(db_session, sandbox, dt.date(2024, 6, 11))

    assert tenth.clean and eleventh.clean
    assert (tenth.our_trades, tenth.our_trade_cents, tenth.bill_trades) == (1, 30000, 1)
    assert (eleventh.our_trades, eleventh.our_trade_cents, eleventh.bill_trades) == (1, 50000, 1)
    # Against an empty bill, only the 23:30 payment is missing on the 10th.
    crossed = reconcile(db_session, [], DAY)
    assert summary(crossed) == [(MismatchKind.KNOWN_BUT_UNPAID, late.out_trade_no, late.order.number, 30000, None)]


def test_a_payment_recorded_on_the_next_day_is_told_apart(db_session, sandbox, clock, pay):
    clock.set(2024, 6, 10, 23, 59, 59)
    payment = pay(30000)
    # Our books took the time the notification arrived, after midnight.
    payment.paid_at = dt.datetime(2024, 6, 11, 0, 0, 2, tzinfo=BUSINESS_TZ)
    db_session.flush()

    tenth = reconcile_with_provider(db_session, sandbox, DAY)
    eleventh = reconcile_with_provider(db_session, sandbox, dt.date(2024, 6, 11))

    assert summary(tenth) == [(MismatchKind.PAID_ON_ANOTHER_DAY, payment.out_trade_no, payment.order.number,
                               30000, 30000)]
    assert "2024-06-11 00:00:02" in tenth.mismatches[0].note
    assert summary(eleventh) == [(MismatchKind.KNOWN_BUT_UNPAID, payment.out_trade_no, payment.order.number,
                                  30000, None)]


def test_a_trade_listed_twice_in_the_bill_is_flagged(db_session, sandbox, pay):
    payment = pay(30000)
    rows = parse_bill(sandbox.export_bill(DAY))

    result = reconcile(db_session, rows + rows, DAY)

    assert result.matched_trades == 1
    assert summary(result) == [(MismatchKind.PAID_BUT_UNKNOWN, payment.out_trade_no, payment.order.number, None,
                                30000)]
    assert "more than once" in result.mismatches[0].note
    assert (result.bill_trades, result.bill_trade_cents) == (2, 60000)


def test_another_days_bill_is_refused(db_session, sandbox, pay):
    pay(30000)

    with pytest.raises(ValueError, match="not the bill of 2024-06-11"):
        reconcile(db_session, parse_bill(sandbox.export_bill(DAY)), dt.date(2024, 6, 11))


def test_a_day_of_thousands_of_trades_costs_two_queries(app, db_session, new_order):
    count = 3000
    template = db_session.execute(select(Order.__table__).where(Order.id == new_order().id)).mappings().one()
    numbers = [f"BULK{index:08d}" for index in range(count)]
    db_session.execute(insert(Order.__table__), [
        {**{k: v for k, v in template.items() if k != "id"}, "number": number} for number in numbers])
    order_ids = dict(db_session.execute(select(Order.number, Order.id).where(Order.number.in_(numbers))).all())
    paid_at = dt.datetime(2024, 6, 10, 12, 0, tzinfo=BUSINESS_TZ)
    db_session.execute(insert(Payment.__table__), [
        {"order_id": order_ids[number], "provider": "sandbox", "out_trade_no": number, "amount_cents": 100 + index,
         "status": PaymentStatus.PAID, "paid_at": paid_at, "created_at": paid_at}
        for index, number in enumerate(numbers)])
    # The bill: all of them, one for another amount, plus 1200 trades we never heard of.
    lines = [bill_line(number, order_amount=f"{(100 + index) / 100:.2f}", trade_no=f"T{index:027d}")
             for index, number in enumerate(numbers)]
    lines[7][11] = "9.99"
    lines += [bill_line(f"GHOST{index:08d}", trade_no=f"G{index:027d}") for index in range(1200)]
    text = bill_text(*lines, summary_lines=(f"#交易合计：{len(lines)}笔",))
    db_session.flush()

    started = time.perf_counter()
    with counted_selects(db_session) as selects:
        result = reconcile(db_session, parse_bill(text), DAY)
    elapsed = time.perf_counter() - started

    assert (result.bill_trades, result.our_trades, result.matched_trades) == (4200, 3000, 2999)
    assert [(m.kind, m.out_trade_no) for m in result.of_kind(MismatchKind.AMOUNT_DIFFERS)] == [
        (MismatchKind.AMOUNT_DIFFERS, numbers[7])]
    assert len(result.of_kind(MismatchKind.PAID_BUT_UNKNOWN)) == 1200
    # One query per side, then the 1200 strangers looked up in batches of 500: payments, then orders.
    assert len(selects) == 2 + 3 + 3, selects
    assert elapsed < 5
