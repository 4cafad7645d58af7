"""Reconciliation: the payment provider's bill of a business day against our payments and refunds.

The provider's trade bill (业务明细, Alipay's statement CSV; the sandbox writes the same format)
is read with ``parse_bill``, then ``reconcile`` sets it against what our tables say was paid and
refunded during that business day (Beijing time, ``models.business_time.BUSINESS_TZ``). Each
side is read once (one query for our payments of the day, one for our refunds of the day) and
joined in dicts on the merchant's trade number, so a day of thousands of trades costs no more
queries than a day of ten; only lines that match nothing are looked up again, in batches, to
say what we know of them.

Our side: a payment counts as paid on the day its ``paid_at`` falls in, if its status is paid or
refunded (a refunded payment was paid all the same; its refund is a line of its own, on the day
the refund succeeded). A refund counts on the day of its ``succeeded_at``, if it succeeded.
"""
from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.payments.interfaces import PaymentProvider
from models.batches import batches
from models.business_time import BUSINESS_TZ, business_day_bounds
from models.order import Order
from models.payment import BANK_TRANSFER, Payment, PaymentStatus, Refund, RefundStatus

TRADE = "trade"
REFUND = "refund"
KINDS = {"交易": TRADE, "退款": REFUND}

COL_TRADE_NO = "支付宝交易号"
COL_OUT_TRADE_NO = "商户订单号"
COL_KIND = "业务类型"
COL_FINISHED = "完成时间"
COL_ORDER_AMOUNT = "订单金额（元）"
COL_RECEIVED = "商家实收（元）"
COL_REQUEST_NO = "退款批次号/请求号"
REQUIRED_COLUMNS = (COL_TRADE_NO, COL_OUT_TRADE_NO, COL_KIND, COL_FINISHED, COL_ORDER_AMOUNT, COL_RECEIVED,
                    COL_REQUEST_NO)

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# Payments that took money (a refunded one did too): what a day's bill lists and takings count.
PAID_STATES = (PaymentStatus.PAID, PaymentStatus.REFUNDED)
# Rows per IN (...) when looking up the lines that matched nothing: far below every database's limit.
LOOKUP_BATCH = 500

_AMOUNT = re.compile(r"-?\d+(\.\d{1,2})?")
_SUMMARY_COUNT = re.compile(r"#?\s*(交易|退款)合计[：:]\s*(\d+)\s*笔")
_SUMMARY_WORDS = ("合计", "列表结束", "导出时间")


@dataclass(frozen=True)
class BillRow:
    """One line of the provider's bill. ``amount_cents`` is the order amount of a trade, or the
    amount given back by a refund (positive)."""
    trade_no: str
    out_trade_no: str
    kind: str  # TRADE or REFUND
    amount_cents: int
    finished_at: dt.datetime  # aware, Beijing time
    refund_request_no: str | None = None


class MismatchKind(StrEnum):
    PAID_BUT_UNKNOWN = "paid_but_unknown"  # a paid trade in the bill we have no paid payment for
    KNOWN_BUT_UNPAID = "known_but_unpaid"  # a payment we record paid that day, missing from the bill
    AMOUNT_DIFFERS = "amount_differs"  # in both, with other amounts
    PAID_ON_ANOTHER_DAY = "paid_on_another_day"  # in the bill, and paid in our books, but on another day
    REFUNDED_BUT_UNKNOWN = "refunded_but_unknown"  # a refund in the bill we have not recorded as succeeded
    KNOWN_BUT_NOT_REFUNDED = "known_but_not_refunded"  # our refund succeeded that day, missing from the bill
    REFUND_AMOUNT_DIFFERS = "refund_amount_differs"
    REFUNDED_ON_ANOTHER_DAY = "refunded_on_another_day"  # in the bill; succeeded in our books on another day


_KIND_ORDER = {kind: index for index, kind in enumerate(MismatchKind)}


@dataclass(frozen=True)
class Mismatch:
    kind: MismatchKind
    out_trade_no: str
    order_number: str | None
    ours_cents: int | None  # None: we have no such payment (refund) for the day
    bill_cents: int | None  # None: the bill has no such line
    note: str
    trade_no: str | None = None  # the provider's trade number, when the bill has the line
    out_request_no: str | None = None  # refunds: the refund's request number


@dataclass
class Reconciliation:
    day: dt.date
    bill_trades: int = 0
    bill_trade_cents: int = 0
    bill_refunds: int = 0
    bill_refund_cents: int = 0
    our_trades: int = 0
    our_trade_cents: int = 0
    our_refunds: int = 0
    our_refund_cents: int = 0
    matched_trades: int = 0
    matched_refunds: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def matched(self) -> int:
        return self.matched_trades + self.matched_refunds

    @property
    def clean(self) -> bool:
        """Nothing to look into: every line of the bill matched one of ours and the other way round."""
        return not self.mismatches

    @property
    def bill_net_cents(self) -> int:
        return self.bill_trade_cents - self.bill_refund_cents

    @property
    def our_net_cents(self) -> int:
        return self.our_trade_cents - self.our_refund_cents

    def of_kind(self, kind: MismatchKind) -> list[Mismatch]:
        return [mismatch for mismatch in self.mismatches if mismatch.kind is kind]


# --- the bill ----------------------------------------------------------------------------------


def parse_bill(text: str) -> list[BillRow]:
    """The trade and refund lines of a trade bill (业务明细) in Alipay's statement CSV format.

    Comment lines (``#…``), blank lines and a trailing summary are skipped; cells are stripped
    (Alipay ends each with a tab). When the summary gives counts (``#交易合计：3笔…``) they must
    match the lines read, so a truncated file is refused. ValueError, saying where, for anything
    that is not such a bill."""
    if not isinstance(text, str):
        raise ValueError("a bill is text; decode the downloaded file first")
    text = text.lstrip("\ufeff")
    lines: list[tuple[int, str]] = []
    summary_counts: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            if found := _SUMMARY_COUNT.match(stripped):
                summary_counts[KINDS[found.group(1)]] = int(found.group(2))
            continue
        lines.append((number, line))
    reader = csv.reader(line for _, line in lines)

    def line_number() -> int:
        return lines[reader.line_num - 1][0]

    header = next(reader, None)
    if header is None:
        raise ValueError("not a trade bill: it holds no header row, only comments or nothing")
    columns = [_column_name(cell) for cell in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise ValueError(f"not a trade bill (业务明细): line {line_number()} should be its header, "
                         f"but lacks the columns {', '.join(missing)}")
    index = {name: columns.index(name) for name in REQUIRED_COLUMNS}

    rows: list[BillRow] = []
    for cells in reader:
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        if len(cells) != len(columns) or not cells[index[COL_TRADE_NO]]:
            if _is_summary(cells):
                continue
            raise ValueError(f"bill line {line_number()}: {len(cells)} cells where the header has {len(columns)}"
                             f", or no {COL_TRADE_NO}")
        rows.append(_bill_row(cells, index, line_number()))

    for kind, count in summary_counts.items():
        listed = sum(1 for row in rows if row.kind == kind)
        if listed != count:
            raise ValueError(f"the bill's summary counts {count} {kind} lines but {listed} are listed: "
                             "is the file cut short?")
    return rows


def _column_name(cell: str) -> str:
    return cell.strip().replace("(", "（").replace(")", "）")


def _is_summary(cells: list[str]) -> bool:
    text = "".join(cells)
    return text.startswith("#") or any(word in text for word in _SUMMARY_WORDS)


def _bill_row(cells: list[str], index: dict[str, int], line: int) -> BillRow:
    def cell(name: str) -> str:
        return cells[index[name]]

    kind = KINDS.get(cell(COL_KIND))
    if kind is None:
        raise ValueError(f"bill line {line}: unknown {COL_KIND} {cell(COL_KIND)!r} (expected 交易 or 退款)")
    try:
        finished_at = dt.datetime.strptime(cell(COL_FINISHED), TIME_FORMAT).replace(tzinfo=BUSINESS_TZ)
    except ValueError:
        raise ValueError(f"bill line {line}: {COL_FINISHED} {cell(COL_FINISHED)!r} is not a time "
                         "like 2024-06-10 09:30:00") from None
    if kind == TRADE:
        amount = _cents(cell(COL_ORDER_AMOUNT), line, COL_ORDER_AMOUNT)
        if amount < 0:
            raise ValueError(f"bill line {line}: a trade with a negative {COL_ORDER_AMOUNT}")
    else:
        # The refund's line repeats the order amount; what went back is the (negative) amount received.
        amount = abs(_cents(cell(COL_RECEIVED), line, COL_RECEIVED))
    return BillRow(trade_no=cell(COL_TRADE_NO), out_trade_no=cell(COL_OUT_TRADE_NO), kind=kind, amount_cents=amount,
                   finished_at=finished_at, refund_request_no=cell(COL_REQUEST_NO) or None)


def _cents(text: str, line: int, column: str) -> int:
    if not _AMOUNT.fullmatch(text):
        raise ValueError(f"bill line {line}: {column} {text!r} is not an amount in yuan")
    return int(Decimal(text) * 100)


# --- the reconciliation ------------------------------------------------------------------------


def reconcile(session: Session, rows: Iterable[BillRow], day: dt.date) -> Reconciliation:
    """The provider's bill lines of ``day`` set against our payments and refunds of that business day.
    ValueError if a line of the bill was finished on another day: that is another day's bill."""
    rows = list(rows)
    start, end = business_day_bounds(day)
    strays = [row for row in rows if not start <= row.finished_at < end]
    if strays:
        first = strays[0]
        raise ValueError(f"this is not the bill of {day.isoformat()}: {len(strays)} of its lines were finished "
                         f"on another day, e.g. {first.out_trade_no} at {_beijing(first.finished_at)}")
    trades = [row for row in rows if row.kind == TRADE]
    refunds = [row for row in rows if row.kind == REFUND]
    result = Reconciliation(day=day, bill_trades=len(trades), bill_trade_cents=sum(r.amount_cents for r in trades),
                            bill_refunds=len(refunds), bill_refund_cents=sum(r.amount_cents for r in refunds))
    _reconcile_trades(session, trades, start, end, result)
    _reconcile_refunds(session, refunds, start, end, result)
    result.mismatches.sort(key=lambda m: (_KIND_ORDER[m.kind], m.out_trade_no, m.out_request_no or ""))
    return result


def reconcile_with_provider(session: Session, provider: PaymentProvider, day: dt.date) -> Reconciliation:
    """Download the provider's bill of ``day`` and reconcile it (ProviderError, ValueError)."""
    return reconcile(session, parse_bill(provider.download_bill(day)), day)


def _reconcile_trades(session: Session, bill: list[BillRow], start: dt.datetime, end: dt.datetime,
                      result: Reconciliation) -> None:
    paid = {
        payment.out_trade_no: payment
        for payment in session.execute(
            # A bank transfer finance matched (billing.transfers) is on the bank's statement, not the provider's bill.
            _payment_columns().where(Payment.paid_at >= start, Payment.paid_at < end, Payment.status.in_(PAID_STATES),
                                     Payment.provider != BANK_TRANSFER)
        )
    }
    result.our_trades = len(paid)
    result.our_trade_cents = sum(payment.amount_cents for payment in paid.values())

    seen: set[str] = set()
    unmatched: list[BillRow] = []
    for row in bill:
        ours = paid.get(row.out_trade_no)
        if ours is None:
            unmatched.append(row)
        elif row.out_trade_no in seen:
            result.mismatches.append(Mismatch(
                MismatchKind.PAID_BUT_UNKNOWN, row.out_trade_no, ours.order_number, None, row.amount_cents,
                "the bill lists this trade more than once; we have one payment", trade_no=row.trade_no))
        else:
            seen.add(row.out_trade_no)
            if ours.amount_cents == row.amount_cents:
                result.matched_trades += 1
            else:
                result.mismatches.append(Mismatch(
                    MismatchKind.AMOUNT_DIFFERS, row.out_trade_no, ours.order_number, ours.amount_cents,
                    row.amount_cents, "the bill's amount is not the amount we recorded as paid",
                    trade_no=row.trade_no))
    for out_trade_no, ours in paid.items():
        if out_trade_no not in seen:
            result.mismatches.append(Mismatch(
                MismatchKind.KNOWN_BUT_UNPAID, out_trade_no, ours.order_number, ours.amount_cents, None,
                f"we record it paid at {_beijing(ours.paid_at)}; the bill does not list it"))

    known = _payments_by_out_trade_no(session, {row.out_trade_no for row in unmatched})
    orders = _existing_orders(session, {row.out_trade_no for row in unmatched} - known.keys())
    for row in unmatched:
        ours = known.get(row.out_trade_no)
        if ours is not None and ours.status in PAID_STATES:
            amounts = "" if ours.amount_cents == row.amount_cents else ", and for another amount"
            when = _beijing(ours.paid_at) if ours.paid_at else "no time"
            result.mismatches.append(Mismatch(
                MismatchKind.PAID_ON_ANOTHER_DAY, row.out_trade_no, ours.order_number, ours.amount_cents,
                row.amount_cents, f"we record it paid at {when}{amounts}", trade_no=row.trade_no))
        elif ours is not None:
            result.mismatches.append(Mismatch(
                MismatchKind.PAID_BUT_UNKNOWN, row.out_trade_no, ours.order_number, None, row.amount_cents,
                f"we record this payment as {ours.status.value}, not paid", trade_no=row.trade_no))
        elif row.out_trade_no in orders:
            result.mismatches.append(Mismatch(
                MismatchKind.PAID_BUT_UNKNOWN, row.out_trade_no, row.out_trade_no, None, row.amount_cents,
                "the order exists but we recorded no payment for it", trade_no=row.trade_no))
        else:
            result.mismatches.append(Mismatch(
                MismatchKind.PAID_BUT_UNKNOWN, row.out_trade_no, None, None, row.amount_cents,
                "no order or payment of ours has this number", trade_no=row.trade_no))


def _reconcile_refunds(session: Session, bill: list[BillRow], start: dt.datetime, end: dt.datetime,
                       result: Reconciliation) -> None:
    succeeded = {
        (refund.out_trade_no, refund.out_request_no): refund
        for refund in session.execute(
            _refund_columns().where(Refund.status == RefundStatus.SUCCEEDED, Refund.succeeded_at >= start,
                                    Refund.succeeded_at < end))
    }
    result.our_refunds = len(succeeded)
    result.our_refund_cents = sum(refund.amount_cents for refund in succeeded.values())
    # A bill line without a request number can only be matched on the trade.
    by_trade: dict[str, list[tuple[str, str]]] = {}
    for key in succeeded:
        by_trade.setdefault(key[0], []).append(key)

    seen: set[tuple[str, str]] = set()
    unmatched: list[BillRow] = []
    for row in bill:
        key = (row.out_trade_no, row.refund_request_no)
        if row.refund_request_no is None:
            key = next((k for k in by_trade.get(row.out_trade_no, ()) if k not in seen), key)
        ours = succeeded.get(key)
        if ours is None:
            unmatched.append(row)
            continue
        if key in seen:
            result.mismatches.append(Mismatch(
                MismatchKind.REFUNDED_BUT_UNKNOWN, row.out_trade_no, ours.order_number, None, row.amount_cents,
                "the bill lists this refund more than once; we have one", trade_no=row.trade_no,
                out_request_no=row.refund_request_no))
            continue
        seen.add(key)
        if ours.amount_cents == row.amount_cents:
            result.matched_refunds += 1
        else:
            result.mismatches.append(Mismatch(
                MismatchKind.REFUND_AMOUNT_DIFFERS, row.out_trade_no, ours.order_number, ours.amount_cents,
                row.amount_cents, "the bill's refund amount is not the amount we recorded as refunded",
                trade_no=row.trade_no, out_request_no=ours.out_request_no))
    for key, ours in succeeded.items():
        if key not in seen:
            result.mismatches.append(Mismatch(
                MismatchKind.KNOWN_BUT_NOT_REFUNDED, ours.out_trade_no, ours.order_number, ours.amount_cents, None,
                f"we record the refund succeeded at {_beijing(ours.succeeded_at)}; the bill does not list it",
                out_request_no=ours.out_request_no))

    refunds = _refunds_by_request_no(session, {row.refund_request_no for row in unmatched if row.refund_request_no})
    payments = _payments_by_out_trade_no(session, {row.out_trade_no for row in unmatched})
    for row in unmatched:
        ours = refunds.get(row.refund_request_no) if row.refund_request_no else None
        if ours is not None and ours.out_trade_no != row.out_trade_no:
            ours = None
        if ours is not None and ours.status is RefundStatus.SUCCEEDED:
            amounts = "" if ours.amount_cents == row.amount_cents else ", and for another amount"
            when = _beijing(ours.succeeded_at) if ours.succeeded_at else "no time"
            result.mismatches.append(Mismatch(
                MismatchKind.REFUNDED_ON_ANOTHER_DAY, row.out_trade_no, ours.order_number, ours.amount_cents,
                row.amount_cents, f"we record the refund succeeded at {when}{amounts}",
                trade_no=row.trade_no, out_request_no=row.refund_request_no))
            continue
        if ours is not None:
            note = f"we record this refund as {ours.status.value}, not succeeded"
            order_number = ours.order_number
        elif (payment := payments.get(row.out_trade_no)) is not None:
            note = f"we recorded no such refund (our payment is {payment.status.value})"
            order_number = payment.order_number
        else:
            note = "no order or payment of ours has this number"
            order_number = None
        result.mismatches.append(Mismatch(
            MismatchKind.REFUNDED_BUT_UNKNOWN, row.out_trade_no, order_number, None, row.amount_cents, note,
            trade_no=row.trade_no, out_request_no=row.refund_request_no))


def _payment_columns():
    return (select(Payment.out_trade_no, Payment.amount_cents, Payment.status, Payment.paid_at,
                   Order.number.label("order_number"))
            .join(Order, Order.id == Payment.order_id))


def _refund_columns():
    return (select(Refund.out_request_no, Refund.amount_cents, Refund.status, Refund.succeeded_at,
                   Payment.out_trade_no, Order.number.label("order_number"))
            .join(Payment, Payment.id == Refund.payment_id)
            .join(Order, Order.id == Payment.order_id))


def _payments_by_out_trade_no(session: Session, out_trade_nos: set[str]) -> dict:
    found = {}
    for batch in batches(sorted(out_trade_nos), LOOKUP_BATCH):
        for payment in session.execute(_payment_columns().where(Payment.out_trade_no.in_(batch))):
            found[payment.out_trade_no] = payment
    return found


def _refunds_by_request_no(session: Session, request_nos: set[str]) -> dict:
    found = {}
    for batch in batches(sorted(request_nos), LOOKUP_BATCH):
        for refund in session.execute(_refund_columns().where(Refund.out_request_no.in_(batch))):
            found[refund.out_request_no] = refund
    return found


def _existing_orders(session: Session, numbers: set[str]) -> set[str]:
    found: set[str] = set()
    for batch in batches(sorted(numbers), LOOKUP_BATCH):
        found.update(session.scalars(select(Order.number).where(Order.number.in_(batch))))
    return found


def _beijing(moment: dt.datetime) -> str:
    return moment.astimezone(BUSINESS_TZ).strftime(TIME_FORMAT)
