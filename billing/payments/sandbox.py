"""The sandbox payment provider, the default: a stand-in for Alipay with its own ledger.

The ledger is a small SQLite file of its own (trades, refunds, notifications sent), kept
apart from our tables so reconciliation compares against the provider's books, not ours.
Beside it lie the sandbox's RSA key pair (``sandbox-private.pem``, ``sandbox-public.pem``),
made on first use; notifications are signed with it exactly as Alipay signs them, so
``verify_notification`` runs the same code as the Alipay adapter.

Deterministic triggers:

- an amount ending in 13 cents (0.13, 300.13 yuan …) fails ``precreate`` with a ProviderError;
- an amount ending in 14 cents: the provider does not answer in time (a ProviderError without a
  code, as the Alipay adapter raises when its timeout runs out). The first ``precreate`` of a
  trade opens it all the same (asked again, it answers with the QR code), and ``query`` times
  out as long as the buyer has not paid;
- "DELAY" in the subject or out_trade_no: ``pay`` only scans; the payment completes
  ``delay_seconds`` later, seen by the next call that reads the ledger (``query``,
  ``notifications_for``, …);
- "TWICE" in the subject or out_trade_no: the notification is sent twice, identical;
- "LOST" in the subject or out_trade_no: a refund is made but the answer to its first request
  is lost (a ProviderError without a code, as a timeout): ``query_refund`` then finds it made.

As with Alipay, a QR trade is NOT_FOUND to ``query`` until the buyer scans it (``pay``).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from billing.payments.alipay import (
    TRADE_NOT_EXIST,
    cents_to_yuan,
    format_time,
    parse_time,
    read_notification,
    sign_notification,
)
from billing.payments.interfaces import (
    Notification,
    ProviderError,
    QrTrade,
    RefundQuery,
    RefundResult,
    RefundState,
    TradeState,
    TradeStatus,
)
from models.business_time import BUSINESS_TZ

SELLER_ID = "2088000000000000"
BUYER = "sbx***@sandbox.invalid"
BILL_COLUMNS = (
    "支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号", "门店名称", "操作员",
    "终端号", "对方账户", "订单金额（元）", "商家实收（元）", "支付宝红包（元）", "集分宝（元）", "支付宝优惠（元）",
    "商家优惠（元）", "券核销金额（元）", "券名称", "商家红包消费金额（元）", "卡消费金额（元）", "退款批次号/请求号",
    "服务费（元）", "分润（元）", "备注",
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS trades (
    out_trade_no TEXT PRIMARY KEY,
    trade_no TEXT UNIQUE,
    subject TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    status TEXT NOT NULL,
    notify_url TEXT NOT NULL,
    created_at TEXT NOT NULL,
    scanned_at TEXT,
    pay_after TEXT,
    expires_at TEXT,
    paid_at TEXT,
    bill_amount_cents INTEGER,
    in_bill INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS refunds (
    out_trade_no TEXT NOT NULL REFERENCES trades (out_trade_no),
    out_request_no TEXT NOT NULL,
    refund_cents INTEGER NOT NULL,
    reason TEXT NOT NULL,
    refunded_at TEXT NOT NULL,
    PRIMARY KEY (out_trade_no, out_request_no)
);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    out_trade_no TEXT NOT NULL REFERENCES trades (out_trade_no),
    params TEXT NOT NULL,
    sent_at TEXT NOT NULL
);
"""


class Mismatch(StrEnum):
    """What ``plant_mismatch`` puts into the bill for reconciliation to find."""
    UNKNOWN_TRADE = "unknown_trade"    # a paid trade nobody ordered from us
    AMOUNT_DIFFERS = "amount_differs"  # the bill shows another amount for a trade
    OMITTED = "omitted"                # a paid trade left out of the bill


def _refused(message: str, sub_code: str) -> ProviderError:
    return ProviderError(f"sandbox: {message}", code="40004", sub_code=sub_code)


def _slow(amount_cents: int) -> bool:
    return amount_cents % 100 == 14


def _timed_out(call: str, out_trade_no: str) -> ProviderError:
    return ProviderError(f"sandbox: no answer to {call} {out_trade_no} in time (timeout)")


class SandboxProvider:
    def __init__(self, ledger_path: str | os.PathLike, *, delay_seconds: float = 3.0, app_id: str = "sandbox",
                 now: Callable[[], dt.datetime] | None = None):
        self.ledger_path = Path(ledger_path)
        self.delay_seconds = delay_seconds
        self.app_id = app_id
        self._now = now or (lambda: dt.datetime.now(BUSINESS_TZ))
        self.ledger_path.parent.mkdir(parents=True, exist_ok=True)
        self.private_key = self._load_or_make_key(self.ledger_path.parent)
        self.public_key = self.private_key.public_key()
        with self._ledger() as ledger:
            ledger.executescript(SCHEMA)
            if "expires_at" not in {row["name"] for row in ledger.execute("PRAGMA table_info(trades)")}:
                ledger.execute("ALTER TABLE trades ADD COLUMN expires_at TEXT")  # a ledger made before it

    def precreate(self, out_trade_no: str, amount_cents: int, subject: str, notify_url: str,
                  expires_at: dt.datetime | None = None) -> QrTrade:
        if amount_cents <= 0:
            raise ValueError("a trade needs a positive amount")
        if amount_cents % 100 == 13:
            raise _refused("amounts ending in 13 cents fail", "ACQ.SYSTEM_ERROR")
        qr = QrTrade(qr_code=f"sandbox:pay:{out_trade_no}")
        with self._transaction() as ledger:
            self._settle(ledger)
            trade = self._trade(ledger, out_trade_no)
            if trade is None:
                ledger.execute(
                    "INSERT INTO trades (out_trade_no, subject, amount_cents, status, notify_url, created_at,"
                    " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (out_trade_no, subject, amount_cents, TradeState.WAIT_BUYER_PAY, notify_url, self._stamp(),
                     format_time(expires_at) if expires_at else None))
            else:
                self._check_open(trade)
                if trade["amount_cents"] != amount_cents:
                    raise _refused("the trade exists with another amount", "ACQ.CONTEXT_INCONSISTENT")
        if trade is None and _slow(amount_cents):
            raise _timed_out("precreate", out_trade_no)
        return qr

    def pay(self, out_trade_no: str) -> list[dict[str, str]]:
        """The buyer scans the QR code and pays; returns the signed notifications sent
        (none yet for a delayed payment, two for TWICE) for the caller to post to its notify URL."""
        with self._transaction() as ledger:
            self._settle(ledger)
            trade = self._trade(ledger, out_trade_no)
            if trade is None:
                raise _refused("no such trade", TRADE_NOT_EXIST)
            self._check_open(trade)
            if trade["scanned_at"]:
                return []
            now = self._now()
            if self._triggered(trade, "DELAY"):
                ledger.execute("UPDATE trades SET scanned_at = ?, pay_after = ? WHERE out_trade_no = ?",
                               (format_time(now), format_time(now + dt.timedelta(seconds=self.delay_seconds)),
                                out_trade_no))
                return []
            ledger.execute("UPDATE trades SET scanned_at = ? WHERE out_trade_no = ?", (format_time(now), out_trade_no))
            return self._complete(ledger, trade, format_time(now))

    def notifications_for(self, out_trade_no: str) -> list[dict[str, str]]:
        with self._transaction() as ledger:
            self._settle(ledger)
            rows = ledger.execute("SELECT params FROM notifications WHERE out_trade_no = ? ORDER BY id",
                                  (out_trade_no,)).fetchall()
        return [json.loads(row["params"]) for row in rows]

    def describe(self, out_trade_no: str) -> dict | None:
        """What the buyer's wallet shows for a trade: subject, amount, status, notify URL."""
        with self._transaction() as ledger:
            self._settle(ledger)
            trade = self._trade(ledger, out_trade_no)
        if trade is None:
            return None
        return {key: trade[key] for key in ("out_trade_no", "subject", "amount_cents", "status", "notify_url")}

    def query(self, out_trade_no: str) -> TradeStatus:
        with self._transaction() as ledger:
            self._settle(ledger)
            trade = self._trade(ledger, out_trade_no)
        if trade is not None and _slow(trade["amount_cents"]) and not trade["paid_at"]:
            raise _timed_out("query", out_trade_no)
        if trade is None or (trade["status"] == TradeState.WAIT_BUYER_PAY and not trade["scanned_at"]):
            return TradeStatus(TradeState.NOT_FOUND, None, None, None)
        return TradeStatus(TradeState(trade["status"]), trade["trade_no"], trade["amount_cents"],
                           parse_time(trade["paid_at"]))

    def refund(self, out_trade_no: str, refund_cents: int, out_request_no: str, reason: str) -> RefundResult:
        if refund_cents <= 0:
            raise ValueError("a refund needs a positive amount")
        with self._transaction() as ledger:
            self._settle(ledger)
            trade = self._trade(ledger, out_trade_no)
            if trade is None:
                raise _refused("no such trade", TRADE_NOT_EXIST)
            earlier = ledger.execute("SELECT refund_cents FROM refunds WHERE out_trade_no = ? AND out_request_no = ?",
                                     (out_trade_no, out_request_no)).fetchone()
            refunded = self._refunded(ledger, out_trade_no)
            if earlier is not None:
                return RefundResult(out_trade_no, out_request_no, earlier["refund_cents"], refunded, trade["trade_no"])
            if not trade["paid_at"]:
                raise _refused("the trade is not paid", "ACQ.TRADE_STATUS_ERROR")
            if refunded + refund_cents > trade["amount_cents"]:
                raise _refused("refunds would exceed the amount paid", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
            ledger.execute(
                "INSERT INTO refunds (out_trade_no, out_request_no, refund_cents, reason, refunded_at)"
                " VALUES (?, ?, ?, ?, ?)", (out_trade_no, out_request_no, refund_cents, reason, self._stamp()))
            if refunded + refund_cents == trade["amount_cents"]:
                self._set_status(ledger, out_trade_no, TradeState.TRADE_CLOSED)
        if self._triggered(trade, "LOST"):
            raise ProviderError(f"sandbox: the answer to refund {out_request_no} was lost")
        return RefundResult(out_trade_no, out_request_no, refund_cents, refunded + refund_cents, trade["trade_no"])

    def query_refund(self, out_trade_no: str, out_request_no: str) -> RefundQuery:
        """As alipay.trade.fastpay.refund.query answers: the refund if it was made, else none
        (an unknown trade too)."""
        with self._transaction() as ledger:
            self._settle(ledger)
            trade = self._trade(ledger, out_trade_no)
            made = ledger.execute("SELECT refund_cents FROM refunds WHERE out_trade_no = ? AND out_request_no = ?",
                                  (out_trade_no, out_request_no)).fetchone()
        trade_no = trade["trade_no"] if trade is not None else None
        if made is None:
            return RefundQuery(out_trade_no, out_request_no, RefundState.NOT_REFUNDED, None, trade_no)
        return RefundQuery(out_trade_no, out_request_no, RefundState.REFUNDED, made["refund_cents"], trade_no)

    def close(self, out_trade_no: str) -> None:
        with self._transaction() as ledger:
            self._settle(ledger)
            trade = self._trade(ledger, out_trade_no)
            if trade is None or trade["status"] == TradeState.TRADE_CLOSED:
                return
            if trade["paid_at"]:
                raise _refused("a paid trade cannot be closed", "ACQ.TRADE_STATUS_ERROR")
            self._set_status(ledger, out_trade_no, TradeState.TRADE_CLOSED)

    def verify_notification(self, params: dict[str, str]) -> Notification:
        return read_notification(params, self.public_key, self.app_id)

    def plant_mismatch(self, kind: Mismatch, out_trade_no: str | None = None, amount_cents: int | None = None,
                       paid_at: dt.datetime | None = None) -> str:
        """Make the bill disagree with our books: UNKNOWN_TRADE adds a paid trade (``amount_cents``,
        ``paid_at``, default now), AMOUNT_DIFFERS shows ``amount_cents`` for ``out_trade_no``, OMITTED
        leaves ``out_trade_no`` out. Returns the out_trade_no concerned."""
        with self._transaction() as ledger:
            self._settle(ledger)
            if kind is Mismatch.UNKNOWN_TRADE:
                out_trade_no = out_trade_no or "PLANTED" + secrets.token_hex(6).upper()
                stamp = format_time(paid_at or self._now())
                ledger.execute(
                    "INSERT INTO trades (out_trade_no, subject, amount_cents, status, notify_url, created_at,"
                    " scanned_at, paid_at) VALUES (?, ?, ?, ?, '', ?, ?, ?)",
                    (out_trade_no, "planted", amount_cents or 100, TradeState.WAIT_BUYER_PAY, stamp, stamp, stamp))
                self._assign_trade_no(ledger, out_trade_no, stamp, TradeState.TRADE_SUCCESS)
                return out_trade_no
            if out_trade_no is None or self._trade(ledger, out_trade_no) is None:
                raise ValueError(f"{kind} needs the out_trade_no of a trade in the ledger")
            if kind is Mismatch.AMOUNT_DIFFERS:
                if amount_cents is None:
                    raise ValueError("amount_differs needs the amount the bill should show")
                ledger.execute("UPDATE trades SET bill_amount_cents = ? WHERE out_trade_no = ?",
                               (amount_cents, out_trade_no))
            else:
                ledger.execute("UPDATE trades SET in_bill = 0 WHERE out_trade_no = ?", (out_trade_no,))
            return out_trade_no

    def download_bill(self, day: dt.date) -> str:
        """The day's bill as ``PaymentProvider.download_bill`` gives it: ``export_bill``."""
        return self.export_bill(day)

    def export_bill(self, day: dt.date) -> str:
        """The day's trade bill (业务明细) as Alipay's statement CSV; like Alipay's, each data cell
        ends with a tab, and the real file is GBK-encoded (encode it so if it must look real)."""
        start, end = f"{day.isoformat()} 00:00:00", f"{(day + dt.timedelta(days=1)).isoformat()} 00:00:00"
        with self._transaction() as ledger:
            self._settle(ledger)
            trades = ledger.execute(
                "SELECT * FROM trades WHERE paid_at >= ? AND paid_at < ? AND in_bill = 1", (start, end)).fetchall()
            refunds = ledger.execute(
                "SELECT trades.*, refunds.out_request_no, refunds.refund_cents, refunds.refunded_at FROM refunds"
                " JOIN trades USING (out_trade_no) WHERE refunded_at >= ? AND refunded_at < ? AND in_bill = 1",
                (start, end)).fetchall()
        rows = [(trade["paid_at"], self._bill_row(trade, "交易", trade["paid_at"],
                                                  _bill_amount(trade), ""))
                for trade in trades]
        rows += [(refund["refunded_at"], self._bill_row(refund, "退款", refund["refunded_at"],
                                                        -refund["refund_cents"], refund["out_request_no"]))
                 for refund in refunds]
        received = sum(_bill_amount(trade) for trade in trades)
        refunded = sum(refund["refund_cents"] for refund in refunds)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        out.write("#支付宝业务明细查询\n")
        out.write(f"#账号：[{SELLER_ID}]\n")
        out.write(f"#起始日期：[{_chinese_date(day)} 00:00:00]   "
                  f"终止日期：[{_chinese_date(day + dt.timedelta(days=1))} 00:00:00]\n")
        out.write("#-----------------------------------------业务明细列表----------------------------------------\n")
        writer.writerow(BILL_COLUMNS)
        writer.writerows(row for _, row in sorted(rows, key=lambda pair: pair[0]))
        out.write("#-----------------------------------------业务明细列表结束------------------------------------\n")
        out.write(f"#交易合计：{len(trades)}笔，商家实收共{cents_to_yuan(received)}元\n")
        out.write(f"#退款合计：{len(refunds)}笔，商家实收共{'-' if refunded else ''}{cents_to_yuan(refunded)}元\n")
        now = self._now().astimezone(BUSINESS_TZ)
        out.write(f"#导出时间：[{_chinese_date(now.date())} {now:%H:%M:%S}]\n")
        return out.getvalue()

    @staticmethod
    def _bill_row(trade: sqlite3.Row, kind: str, finished_at: str, received_cents: int, request_no: str) -> list[str]:
        order_amount = _bill_amount(trade)
        received = ("-" if received_cents < 0 else "") + cents_to_yuan(abs(received_cents))
        cells = [trade["trade_no"], trade["out_trade_no"], kind, trade["subject"], trade["created_at"], finished_at,
                 "", "", "", "", BUYER, cents_to_yuan(order_amount), received, "0.00", "0.00", "0.00", "0.00", "0.00",
                 "", "0.00", "0.00", request_no, "0.00", "0.00", ""]
        return [cell + "\t" for cell in cells]

    def _complete(self, ledger: sqlite3.Connection, trade: sqlite3.Row, paid_at: str) -> list[dict[str, str]]:
        trade_no = self._assign_trade_no(ledger, trade["out_trade_no"], paid_at, TradeState.TRADE_SUCCESS)
        amount = cents_to_yuan(trade["amount_cents"])
        params = sign_notification({
            "notify_time": self._stamp(), "notify_type": "trade_status_sync", "notify_id": secrets.token_hex(16),
            "app_id": self.app_id, "charset": "utf-8", "version": "1.0", "trade_no": trade_no,
            "out_trade_no": trade["out_trade_no"], "trade_status": TradeState.TRADE_SUCCESS.value,
            "total_amount": amount, "receipt_amount": amount, "buyer_pay_amount": amount, "invoice_amount": amount,
            "subject": trade["subject"], "gmt_create": trade["created_at"], "gmt_payment": paid_at,
            "buyer_logon_id": BUYER, "seller_id": SELLER_ID,
        }, self.private_key)
        times = 2 if self._triggered(trade, "TWICE") else 1
        for _ in range(times):
            ledger.execute("INSERT INTO notifications (out_trade_no, params, sent_at) VALUES (?, ?, ?)",
                           (trade["out_trade_no"], json.dumps(params, ensure_ascii=False), self._stamp()))
        return [dict(params) for _ in range(times)]

    def _settle(self, ledger: sqlite3.Connection) -> None:
        """Complete the delayed payments whose time has come; close, as Alipay does at its
        time_expire, the trades nobody paid in time."""
        now = self._stamp()
        due = ledger.execute("SELECT * FROM trades WHERE status = ? AND paid_at IS NULL AND pay_after <= ?",
                             (TradeState.WAIT_BUYER_PAY, now)).fetchall()
        for trade in due:
            self._complete(ledger, trade, trade["pay_after"])
        ledger.execute("UPDATE trades SET status = ? WHERE status = ? AND paid_at IS NULL AND pay_after IS NULL"
                       " AND expires_at <= ?", (TradeState.TRADE_CLOSED, TradeState.WAIT_BUYER_PAY, now))

    @staticmethod
    def _assign_trade_no(ledger: sqlite3.Connection, out_trade_no: str, paid_at: str, status: TradeState) -> str:
        rowid = ledger.execute("SELECT rowid FROM trades WHERE out_trade_no = ?", (out_trade_no,)).fetchone()[0]
        trade_no = f"{paid_at[:10].replace('-', '')}2200{rowid:016d}"
        ledger.execute("UPDATE trades SET trade_no = ?, status = ?, paid_at = ? WHERE out_trade_no = ?",
                       (trade_no, status, paid_at, out_trade_no))
        return trade_no

    @staticmethod
    def _trade(ledger: sqlite3.Connection, out_trade_no: str) -> sqlite3.Row | None:
        return ledger.execute("SELECT * FROM trades WHERE out_trade_no = ?", (out_trade_no,)).fetchone()

    @staticmethod
    def _refunded(ledger: sqlite3.Connection, out_trade_no: str) -> int:
        return ledger.execute("SELECT COALESCE(SUM(refund_cents), 0) FROM refunds WHERE out_trade_no = ?",
                              (out_trade_no,)).fetchone()[0]

    @staticmethod
    def _set_status(ledger: sqlite3.Connection, out_trade_no: str, status: TradeState) -> None:
        ledger.execute("UPDATE trades SET status = ? WHERE out_trade_no = ?", (status, out_trade_no))

    @staticmethod
    def _check_open(trade: sqlite3.Row) -> None:
        if trade["paid_at"]:
            raise _refused("the trade is already paid", "ACQ.TRADE_HAS_SUCCESS")
        if trade["status"] == TradeState.TRADE_CLOSED:
            raise _refused("the trade is closed", "ACQ.TRADE_HAS_CLOSE")

    @staticmethod
    def _triggered(trade: sqlite3.Row, word: str) -> bool:
        return word in trade["subject"] or word in trade["out_trade_no"]

    def _stamp(self) -> str:
        return format_time(self._now())

    @contextmanager
    def _ledger(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.ledger_path, timeout=10, isolation_level=None)
        connection.row_factory = sqlite3.Row
        try:
            yield connection
        finally:
            connection.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once so concurrent calls queue instead of paying twice."""
        with self._ledger() as ledger:
            ledger.execute("BEGIN IMMEDIATE")
            try:
                yield ledger
            except BaseException:
                ledger.execute("ROLLBACK")
                raise
            ledger.execute("COMMIT")

    @staticmethod
    def _load_or_make_key(directory: Path) -> rsa.RSAPrivateKey:
        private_path = directory / "sandbox-private.pem"
        if not private_path.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            try:
                fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as out:
                    out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
                (directory / "sandbox-public.pem").write_bytes(key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{private_path} does not hold an RSA key")
        return key


def _bill_amount(trade: sqlite3.Row) -> int:
    """What the bill shows for a trade: a planted amount (even 0), else the real one."""
    planted = trade["bill_amount_cents"]
    return trade["amount_cents"] if planted is None else planted


def _chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"
