"""0.01-yuan transfers: the sandbox bank, the signed HTTP adapter, and the transfer outbox."""
from __future__ import annotations

import socket

import pytest
from sqlalchemy import select, text

from models import Order
from notifications import outbox
from notifications.interfaces import TransferError, TransferGateway
from notifications.transfers import HttpTransferGateway, SandboxTransferGateway
from tests.fake_service import signed_json_service
from web import edge
from web.extensions import db
from web.services import find_service

KEY = "bank-key-for-tests"
MEMO = "证书密码 Kx93-2a"


def _bank(request: dict) -> dict:
    """Answers like the bank: refuses accounts ending 0000."""
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


def test_sandbox_keeps_what_it_sent_in_its_ledger():
    bank = SandboxTransferGateway()
    ref = bank.send("郑州信源测试科技有限公司", "6222021234567890123", "中国工商银行郑州分行", 1, MEMO)
    (sent,) = bank.ledger
    assert sent.ref == ref and sent.memo == MEMO and sent.amount_cents == 1
    assert sent.account_number == "6222021234567890123"


def test_sandbox_refuses_a_frozen_or_wrong_account():
    bank = SandboxTransferGateway()
    with pytest.raises(TransferError, match="account frozen or wrong"):
        bank.send("某公司", "6222021234560000", "中国工商银行", 1, MEMO)
    assert bank.ledger == []


def test_queue_transfer_copies_the_account_and_seals_the_memo(db_session, order):
    transfer = outbox.queue_transfer(db_session, order, MEMO)
    assert (transfer.account_name, transfer.account_number, transfer.bank_name) == (
        order.account_name, order.account_number, order.bank_name)
    assert transfer.amount_cents == 1 and transfer.status == "queued"
    raw = db_session.execute(text("SELECT memo, account_number FROM bank_transfer WHERE id = :id"),
                             {"id": transfer.id}).one()
    assert MEMO.encode() not in bytes(raw[0]) and order.account_number.encode() not in bytes(raw[1])
    assert outbox.take_queued(db_session).transfers == [transfer.id]


def test_deliver_transfers_records_the_bank_answer(db_session, order):
    bank = SandboxTransferGateway()
    sent = outbox.queue_transfer(db_session, order, MEMO)
    order.account_number = "6222021234560000"
    refused = outbox.queue_transfer(db_session, order, MEMO)
    outbox.deliver_transfers(db_session, bank, [sent.id, refused.id])
    assert (sent.status, sent.provider_ref) == ("sent", bank.ledger[0].ref) and sent.sent_at is not None
    assert (refused.status, refused.error) == ("failed", "sandbox: account frozen or wrong")
    assert len(bank.ledger) == 1
    outbox.deliver_transfers(db_session, bank, [sent.id])
    assert len(bank.ledger) == 1, "a transfer already made is never made twice"


def test_the_edge_makes_queued_transfers_after_the_commit(app, db_session, order):
    with app.app_context():
        bank = find_service(TransferGateway)
        transfer = outbox.queue_transfer(db.session, order, MEMO)
        edge.commit()
        assert transfer.status == "sent"
    assert bank.ledger[-1].memo == MEMO and bank.ledger[-1].ref == transfer.provider_ref


def test_http_gateway_posts_signed_json(bank):
    bank_url, received = bank
    bank = HttpTransferGateway(bank_url, KEY)
    assert bank.send("郑州信源测试科技有限公司", "6222021234567890123", "中国工商银行", 1, MEMO) == "T000001"
    assert received == [{"account_name": "郑州信源测试科技有限公司", "account_number": "6222021234567890123",
                                  "bank_name": "中国工商银行", "amount_cents": 1, "memo": MEMO}]


def test_http_gateway_reports_a_refusal(bank):
    bank_url, _ = bank
    with pytest.raises(TransferError, match="账户冻结"):
        HttpTransferGateway(bank_url, KEY).send("某公司", "6222021234560000", "中国工商银行", 1, MEMO)


def test_http_gateway_reports_a_bad_signature_and_an_unreachable_bank(bank):
    bank_url, _ = bank
    with pytest.raises(TransferError, match="HTTP 403"):
        HttpTransferGateway(bank_url, "wrong-key").send("某公司", "6222021234567890123", "中国工商银行", 1, MEMO)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/transfers"
    with pytest.raises(TransferError, match="unreachable"):
        HttpTransferGateway(closed, KEY, timeout=2).send("某公司", "6222021234567890123", "中国工商银行", 1, MEMO)
