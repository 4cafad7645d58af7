"""Finance matches a replacement's payment proof to the bank statement: the order is paid, enters
the replacement queue and gets its invoice; a wrong amount or a reused reference is refused; a
refused proof is told to the applicant, who may upload a new one."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from billing import checkout
from billing.services import BillingError
from models import (
    BANK_TRANSFER,
    AuditEntry,
    BusinessType,
    Invoice,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    ReviewQueue,
    StaffRole,
)
from models.base import utcnow
from models.business_time import BUSINESS_TZ
from tests import factories

TODAY = utcnow().astimezone(BUSINESS_TZ).date()


@pytest.fixture
def waiting(app, db_session):
    """waiting() -> (order number, price in yuan): a signed replacement whose proof waits for finance, committed."""

    def make():
        order = factories.unpaid_order(db_session, app.config["UPLOAD_FOLDER"], business_type=BusinessType.REPLACEMENT)
        facts = order.number, f"{order.price_cents / 100:.2f}"
        db_session.commit()
        return facts

    return make


def _order(db_session, number: str) -> Order:
    db_session.expire_all()
    return db_session.scalars(select(Order).where(Order.number == number)).one()


def _line(amount: str, reference: str = "B20260301000123", **overrides) -> dict:
    return {"reference": reference, "amount": amount, "value_date": TODAY.isoformat(),
            "payer_name": "某某科技有限公司", **overrides}


def test_the_list_shows_the_proofs_waiting_and_finance_opens_the_proof(client, db_session, login_as, waiting):
    number, price = waiting()
    finance = login_as(StaffRole.FINANCE)
    page = client.get("/console/finance/transfers?lang=en").get_data(as_text=True)
    row = page.split(f'data-order="{number}"')[1].split("</tr>")[0]
    assert price in row and f"/console/finance/transfers/{number}/proof" in row
    assert _order(db_session, number).organisation.name in row

    proof = client.get(f"/console/finance/transfers/{number}/proof")
    assert proof.status_code == 200 and proof.mimetype == "image/png" and proof.headers["Cache-Control"] == (
        "private, no-store")
    viewed = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "material.viewed")).all()
    assert [entry.actor for entry in viewed] == [finance.actor]


def test_an_admin_sees_the_list_but_neither_the_proof_nor_the_buttons(client, db_session, login_as, waiting):
    number, _ = waiting()
    login_as(StaffRole.ADMIN)
    assert number in client.get("/console/finance/transfers").get_data(as_text=True)
    page = client.get(f"/console/finance/transfers/{number}").get_data(as_text=True)
    assert 'id="match-form"' not in page and "/proof" not in page
    assert client.get(f"/console/finance/transfers/{number}/proof").status_code == 403


def test_a_match_pays_the_order_which_enters_the_replacement_queue_with_an_invoice(
        client, db_session, login_as, waiting, billing_services, worker_round):
    number, price = waiting()
    login_as(StaffRole.FINANCE)
    response = client.post(f"/console/finance/transfers/{number}/match", data=_line(price))
    assert response.status_code == 302 and response.headers["Location"].endswith("/console/finance/transfers")

    order = _order(db_session, number)
    assert order.status is OrderStatus.PAID and order.paid_at is not None
    payment = db_session.scalars(select(Payment).where(Payment.order_id == order.id)).one()
    assert (payment.provider, payment.out_trade_no, payment.trade_no, payment.status) == (
        BANK_TRANSFER, number, "B20260301000123", PaymentStatus.PAID)
    matched = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "transfer.matched")).one()
    assert matched.after["payer_name"] == "某某科技有限公司" and matched.after["value_date"] == TODAY.isoformat()
    assert f'data-order="{number}"' not in client.get("/console/finance/transfers").get_data(as_text=True)

    worker_round()  # the queue and the invoice follow a moment later
    order = _order(db_session, number)
    assert order.queue is ReviewQueue.REPLACEMENT and order.sla_started_at == order.paid_at
    assert order.sla_due_at is not None
    assert db_session.scalars(select(Invoice).where(Invoice.order_id == order.id)).one().total_cents == (
        order.price_cents)


def test_a_wrong_amount_is_refused_and_the_line_kept(client, db_session, login_as, waiting):
    number, price = waiting()
    login_as(StaffRole.FINANCE)
    response = client.post(f"/console/finance/transfers/{number}/match?lang=en", data=_line("1.00"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f"The statement says 1.00 yuan, but order {number} costs {price} yuan" in page
    assert 'value="B20260301000123"' in page and 'value="某某科技有限公司"' in page
    assert _order(db_session, number).status is OrderStatus.AWAITING_PAYMENT
    for field, value, message in (("amount", "abc", "An amount in yuan"),
                                  ("value_date", (TODAY + dt.timedelta(days=2)).isoformat(), "after today"),
                                  ("reference", "", "reference")):
        page = client.post(f"/console/finance/transfers/{number}/match?lang=en",
                           data={**_line(price), field: value}).get_data(as_text=True)
        assert f'data-error-for="{field}"' in page and message in page, field
    assert db_session.scalars(select(Payment)).all() == []


def test_a_reference_pays_one_order_only(client, db_session, login_as, waiting):
    first, price = waiting()
    second, second_price = waiting()
    login_as(StaffRole.FINANCE)
    client.post(f"/console/finance/transfers/{first}/match", data=_line(price))
    response = client.post(f"/console/finance/transfers/{second}/match?lang=en", data=_line(second_price))
    assert response.status_code == 422
    assert f"The bank reference B20260301000123 already paid order {first}" in response.get_data(as_text=True)
    assert _order(db_session, second).status is OrderStatus.AWAITING_PAYMENT


def test_the_database_keeps_a_reference_to_one_order_when_two_matches_race(
        app, db_session, waiting, billing_services, monkeypatch):
    """Two finance staff matching one reference at once: both pass the look-up, the database lets one in."""
    from billing import transfers

    first, price = waiting()
    second, _ = waiting()
    finance = factories.staff(db_session, StaffRole.FINANCE, "fin-race")
    line = transfers.StatementLine("B20260301000999", int(float(price) * 100), TODAY, "某某科技有限公司")
    transfers.match_transfer(db_session, billing_services, _order(db_session, first), line, finance, now=utcnow())
    db_session.commit()
    real_scalar = db_session.scalar
    monkeypatch.setattr(db_session, "scalar", lambda statement, *a, **k: None if "trade_no" in str(statement)
                        else real_scalar(statement, *a, **k))  # the other's look-up ran before this commit
    with pytest.raises(BillingError, match="already paid another order"):
        transfers.match_transfer(db_session, billing_services, _order(db_session, second), line, finance,
                                 now=utcnow())
    monkeypatch.undo()
    db_session.rollback()
    assert _order(db_session, second).status is OrderStatus.AWAITING_PAYMENT
    paid = db_session.scalars(select(Payment.out_trade_no).where(Payment.trade_no == "B20260301000999")).all()
    assert paid == [first]


def test_a_refused_proof_is_told_to_the_applicant_and_waits_for_a_new_one(
        client, db_session, login_as, waiting, latest_sms):
    number, _ = waiting()
    phone = _order(db_session, number).agent.phone
    login_as(StaffRole.FINANCE)
    assert client.post(f"/console/finance/transfers/{number}/refuse?lang=en",
                       data={"reason": ""}).status_code == 422
    response = client.post(f"/console/finance/transfers/{number}/refuse", data={"reason": "未查到该笔转账"})
    assert response.status_code == 302

    order = _order(db_session, number)
    assert order.status is OrderStatus.AWAITING_PAYMENT
    assert "未查到该笔转账" in latest_sms(phone) and number in latest_sms(phone)
    page = client.get("/console/finance/transfers").get_data(as_text=True)
    assert f'data-order="{number}"' in page.split('id="proofs-refused"')[1]
    assert f'data-order="{number}"' not in page.split('id="proofs-refused"')[0]
    assert client.get(f"/console/finance/transfers/{number}/proof").status_code == 404
    refused = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "transfer.refused")).one()
    assert refused.note == "未查到该笔转账"
    assert client.post(f"/console/finance/transfers/{number}/match",
                       data=_line("1.00")).status_code == 422  # nothing to match until a new proof


def test_the_unpaid_sweep_leaves_transfers_to_finance(app, db_session, billing_services, waiting):
    number, _ = waiting()
    by_qr = factories.unpaid_order(db_session, app.config["UPLOAD_FOLDER"])
    overdue = checkout.overdue_orders(db_session, billing_services, utcnow() + dt.timedelta(days=30))
    assert by_qr.id in overdue
    assert _order(db_session, number).id not in overdue


def test_a_new_application_has_no_transfer_page(app, client, db_session, login_as):
    order = factories.unpaid_order(db_session, app.config["UPLOAD_FOLDER"])
    number = order.number
    db_session.commit()
    login_as(StaffRole.FINANCE)
    assert client.get(f"/console/finance/transfers/{number}").status_code == 404
    assert client.get(f"/console/finance/transfers/{number}/proof").status_code == 404


def test_a_transfer_paid_order_gets_no_qr_code(db_session, billing_services, waiting):
    number, _ = waiting()
    with pytest.raises(BillingError, match="bank transfer"):
        checkout.payment_qr_code(db_session, billing_services, _order(db_session, number))
    assert db_session.scalars(select(Payment)).all() == []


def test_a_rejected_replacement_is_paid_back_by_a_transfer_finance_records(
        app, client, db_session, login_as, waiting, billing_services, worker_round):
    from billing import refunds, sweep
    from models import Refund, RefundStatus, SmsMessage

    number, price = waiting()
    login_as(StaffRole.FINANCE)
    client.post(f"/console/finance/transfers/{number}/match", data=_line(price))
    worker_round()
    order = _order(db_session, number)
    refunds.propose_refund_for_rejected(db_session, order, actor="staff:reviewer")  # as a rejection does
    db_session.commit()
    refund_id = db_session.scalars(select(Refund.id)).one()

    def refund():
        db_session.expire_all()
        return db_session.get(Refund, refund_id)

    confirmed = client.post(f"/console/finance/refunds/{refund_id}/confirm?lang=en", follow_redirects=True)
    assert f"pay {price} yuan back by bank transfer" in confirmed.get_data(as_text=True)
    assert refund().status is RefundStatus.CONFIRMED and refund().attempts == 0 and refund().last_error is None
    assert sweep.refunds_to_send(db_session) == []  # nothing goes to the payment provider
    page = client.get("/console/finance/refunds").get_data(as_text=True)
    assert f"/console/finance/refunds/{refund_id}/paid-back" in page

    bad = client.post(f"/console/finance/refunds/{refund_id}/paid-back", data={"reference": "no spaces"})
    assert bad.status_code == 302
    assert refund().status is RefundStatus.CONFIRMED
    client.post(f"/console/finance/refunds/{refund_id}/paid-back", data={"reference": "OUT20261206001"})
    assert refund().status is RefundStatus.SUCCEEDED
    payment = db_session.scalars(select(Payment).where(Payment.order_id == _order(db_session, number).id)).one()
    assert payment.status is PaymentStatus.REFUNDED
    told = db_session.scalars(select(SmsMessage).where(SmsMessage.order_id == payment.order_id,
                                                       SmsMessage.template == "refund_succeeded")).one()
    assert number in told.body
    again = client.post(f"/console/finance/refunds/{refund_id}/paid-back?lang=en", data={"reference": "OUT20261206002"},
                        follow_redirects=True)
    assert "not waiting" in again.get_data(as_text=True)  # recorded once
    settled = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "refund.succeeded")).one()
    assert "OUT20261206001" in settled.note
