"""0.01-yuan transfers: the sandbox bank, the signed HTTP adapter, and the transfer outbox. What
becomes of a transfer the bank did not answer for: tests/notifications/test_delivery.py."""
from __future__ import annotations

import datetime as dt
import socket

import pytest
from sqlalchemy import select, text

from models import Order
from notifications import outbox
from notifications.delivery import Gateways, RetryPolicy, current_gateways, deliver_pending
from notifications.interfaces import TransferError, TransferGateway, TransferOutcomeUnknown
from notifications.transfers import HttpTransferGateway, SandboxTransferGateway
from tests.fake_service import signed_json_service
from web import edge
from web.extensions import db
from web.services import find_service

KEY = "bank-key-for-tests"
MEMO = "证书密码 Kx93-2a"
ACCOUNT = ("郑州信源测试科技有限公司", "6222021234567890123", "中国工商银行郑州分行", 1, MEMO)
POLICY = RetryPolicy((dt.timedelta(minutes=2),), max_attempts=5)


def _bank(request: dict) -> dict:
    """Answers like the bank: refuses accounts ending 0000; the status of request R-MADE is made."""
    if "account_number" not in request:
        made = request["request_no"] == "R-MADE"
        return {"ok": True, "made": made, **({"id": "T000009"} if made else {})}
    if request["account_number"].endswith("0000"):
        return {"ok": False, "error": "账户冻结或户名不符"}
    return {"ok": True, "id": "T000001"}


@pytest.fixture
def bank():
    with signed_json_service(KEY, _bank, "/transfers") as (url, received):
        yield url, received


@pytest.fixture
def order(db_session, order_number) -> Order:
    return db_session.scalars(select(Order).filter_by(number=order_number)).one()


def test_sandbox_keeps_what_it_sent_in_its_ledger_by_request_number():
    bank = SandboxTransferGateway()
    ref = bank.send("R1", *ACCOUNT)
    sent = bank.ledger["R1"]
    assert sent.ref == ref and sent.memo == MEMO and sent.amount_cents == 1
    assert sent.account_number == "6222021234567890123"
    assert bank.send("R1", *ACCOUNT) == ref and len(bank.ledger) == 1, "one transfer per request number"
    assert (bank.status("R1"), bank.status("R2")) == (ref, None)


def test_sandbox_refuses_a_frozen_or_wrong_account():
    bank = SandboxTransferGateway()
    with pytest.raises(TransferError, match="account frozen or wrong"):
        bank.send("R1", "某公司", "6222021234560000", "中国工商银行", 1, MEMO)
    assert bank.ledger == {} and bank.status("R1") is None


def test_sandbox_makes_a_transfer_to_an_account_ending_7777_but_loses_the_answer():
    bank = SandboxTransferGateway()
    with pytest.raises(TransferOutcomeUnknown, match="timeout"):
        bank.send("R1", "某公司", "6222021234567777", "中国工商银行", 1, MEMO)
    assert bank.status("R1") == bank.ledger["R1"].ref


def test_queue_transfer_copies_the_account_and_seals_the_memo(db_session, order):
    transfer = outbox.queue_transfer(db_session, order, MEMO)
    other = outbox.queue_transfer(db_session, order, MEMO)
    assert (transfer.account_name, transfer.account_number, transfer.bank_name) == (
        order.account_name, order.account_number, order.bank_name)
    assert transfer.amount_cents == 1 and transfer.status == "queued"
    assert len(transfer.request_no) == 32 and transfer.request_no != other.request_no
    raw = db_session.execute(text("SELECT memo, account_number FROM bank_transfer WHERE id = :id"),
                             {"id": transfer.id}).one()
    assert MEMO.encode() not in bytes(raw[0]) and order.account_number.encode() not in bytes(raw[1])


def test_delivery_records_the_bank_answer(db_session, order):
    bank = SandboxTransferGateway()
    sent = outbox.queue_transfer(db_session, order, MEMO)
    order.account_number = "6222021234560000"
    refused = outbox.queue_transfer(db_session, order, MEMO)
    gateways = Gateways(sms=None, mailer=None, bank=bank)
    deliver_pending(db_session, gateways, POLICY)
    assert (sent.status, sent.provider_ref) == ("sent", bank.ledger[sent.request_no].ref) and sent.sent_at
    assert (refused.status, refused.error, refused.attempts) == ("queued", "sandbox: account frozen or wrong", 1)
    deliver_pending(db_session, gateways, POLICY)
    assert len(bank.ledger) == 1 and sent.attempts == 1, "a transfer already made is never tried again"


def test_a_committed_transfer_is_made_by_the_workers_round(app, db_session, order):
    with app.app_context():
        bank = find_service(TransferGateway)
        transfer = outbox.queue_transfer(db.session, order, MEMO)
        edge.commit()
        assert transfer.status == "queued" and bank.ledger == {}, "the commit itself makes no transfer"
        deliver_pending(db.session, current_gateways(), POLICY)
        assert transfer.status == "sent"
    made = bank.ledger[transfer.request_no]
    assert made.memo == MEMO and made.ref == transfer.provider_ref


def test_http_gateway_posts_signed_json_with_the_request_number(bank):
    bank_url, received = bank
    bank = HttpTransferGateway(bank_url, KEY)
    assert bank.send("R1", "郑州信源测试科技有限公司", "6222021234567890123", "中国工商银行", 1, MEMO) == "T000001"
    assert received == [{"request_no": "R1", "account_name": "郑州信源测试科技有限公司",
                         "account_number": "6222021234567890123", "bank_name": "中国工商银行", "amount_cents": 1,
                         "memo": MEMO}]


def test_http_gateway_asks_the_status_by_request_number(bank):
    bank_url, received = bank
    bank = HttpTransferGateway(bank_url, KEY)
    assert (bank.status("R-MADE"), bank.status("R-OTHER")) == ("T000009", None)
    assert received == [{"request_no": "R-MADE"}, {"request_no": "R-OTHER"}]


def test_http_gateway_reports_a_refusal(bank):
    bank_url, _ = bank
    with pytest.raises(TransferError, match="账户冻结") as refused:
        HttpTransferGateway(bank_url, KEY).send("R1", "某公司", "6222021234560000", "中国工商银行", 1, MEMO)
    assert not isinstance(refused.value, TransferOutcomeUnknown), "the bank said no: nothing was made"


def test_http_gateway_cannot_tell_after_a_bad_signature_or_an_unreachable_bank(bank):
    bank_url, _ = bank
    with pytest.raises(TransferOutcomeUnknown, match="HTTP 403"):
        HttpTransferGateway(bank_url, "wrong-key").send("R1", "某公司", "6222021234567890123", "中国工商银行", 1, MEMO)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/transfers"
    with pytest.raises(TransferOutcomeUnknown, match="unreachable"):
        HttpTransferGateway(closed, KEY, timeout=2).send("R1", "某公司", "6222021234567890123", "中国工商银行", 1, MEMO)
    with pytest.raises(TransferOutcomeUnknown, match="unreachable"):
        HttpTransferGateway(closed, KEY, timeout=2).status("R1")
