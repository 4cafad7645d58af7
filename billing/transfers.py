"""Orders paid by a bank transfer made beforehand (补办, models.business.PAID_BY_TRANSFER): the
applicant uploads the bank's receipt (付款凭证) with the materials and signs; finance finds the
transfer on the bank statement and matches it to the order, or refuses the proof with a reason.

A match records the order's one payment as the transfer (provider "bank_transfer", the order
number as the merchant's trade number, the statement's reference (流水号) as the trade number)
and settles it as a provider's notification does (checkout.settle): the order is paid and its
invoice queued. The work item MATCHED then puts it in its review queue: that is the review
area's operation, which billing cannot call; the layer above both handles the item.

A refusal sets the proof aside (marked superseded, as a replaced material is, so it stays in the
order's history): the order keeps waiting, now for a new proof, and the agent is told why.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing import checkout
from billing.capital import money
from billing.services import BillingError, BillingServices
from documents.materials import current_materials
from models import (
    BANK_TRANSFER,
    Material,
    MaterialKind,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    Staff,
    record,
)
from models.business import PAID_BY_TRANSFER
from models.holders import HOLDER_NAME, with_holder
from notifications.messages import render_email, render_sms
from notifications.outbox import queue_email, queue_sms
from web import jobs
from web.errors import N_

MATCHED = "transfer.matched"  # work item: the matched order enters its review queue
REFUSED_MESSAGE = "transfer_refused"  # templates/sms/ and templates/emails/


@dataclass(frozen=True)
class StatementLine:
    """The bank statement's line finance matches an order with."""

    reference: str  # 流水号
    amount_cents: int
    value_date: dt.date
    payer_name: str


@dataclass(frozen=True)
class Waiting:
    """An order whose payment proof waits for finance."""

    number: str
    holder_name: str
    amount_cents: int
    signed_at: dt.datetime | None
    proof_uploaded_at: dt.datetime


@dataclass(frozen=True)
class ProofRefused:
    """An order whose proof finance refused, waiting for the applicant's new one."""

    number: str
    holder_name: str
    amount_cents: int
    refused_at: dt.datetime


def _transfer_orders():
    return with_holder(select(Order)).where(Order.status == OrderStatus.AWAITING_PAYMENT,
                                            Order.business_type.in_(PAID_BY_TRANSFER))


def _proofs(current: bool):
    state = Material.superseded_at.is_(None) if current else Material.superseded_at.is_not(None)
    return select(Material.order_id).where(Material.kind == MaterialKind.PAYMENT_PROOF, state)


def waiting_for_match(session: Session) -> list[Waiting]:
    """Signed orders with a payment proof finance has not matched or refused, oldest signature first."""
    rows = session.execute(
        _transfer_orders().join(Material, Material.order_id == Order.id)
        .where(Material.kind == MaterialKind.PAYMENT_PROOF, Material.superseded_at.is_(None))
        .with_only_columns(Order.number, HOLDER_NAME, Order.price_cents, Order.signed_at, Material.uploaded_at)
        .order_by(Order.signed_at, Order.id))
    return [Waiting(*row) for row in rows]


def waiting_for_new_proof(session: Session) -> list[ProofRefused]:
    """Orders whose proof was refused and not replaced yet, latest refusal first."""
    refused_at = func.max(Material.superseded_at)
    rows = session.execute(
        _transfer_orders().join(Material, Material.order_id == Order.id)
        .where(Material.kind == MaterialKind.PAYMENT_PROOF, Order.id.not_in(_proofs(current=True)))
        .group_by(Order.id, Order.number, HOLDER_NAME, Order.price_cents)
        .with_only_columns(Order.number, HOLDER_NAME, Order.price_cents, refused_at)
        .order_by(refused_at.desc(), Order.id))
    return [ProofRefused(*row) for row in rows]


def current_proof(session: Session, order: Order) -> Material | None:
    return current_materials(session, order).get(MaterialKind.PAYMENT_PROOF)


def awaiting_new_proof(session: Session, order: Order) -> bool:
    """Signed, its transfer not matched, and no proof in force (finance refused the last one)."""
    return (order.business_type in PAID_BY_TRANSFER and order.status is OrderStatus.AWAITING_PAYMENT
            and current_proof(session, order) is None)


def _proof_to_decide(session: Session, order: Order) -> Material:
    proof = current_proof(session, order) if order.business_type in PAID_BY_TRANSFER else None
    if order.status is not OrderStatus.AWAITING_PAYMENT or proof is None:
        raise BillingError(N_("Order %(number)s has no payment proof waiting for finance."), number=order.number)
    return proof


def match_transfer(session: Session, services: BillingServices, order: Order, line: StatementLine, staff: Staff, *,
                   now: dt.datetime) -> Payment:
    """The statement's line pays the order: the amount must be the order's price, and a reference
    pays one order only."""
    _proof_to_decide(session, order)
    if line.amount_cents != order.price_cents:
        raise BillingError(N_("The statement says %(amount)s yuan, but order %(number)s costs %(price)s yuan: "
                              "not matched."), amount=money(line.amount_cents), number=order.number,
                           price=money(order.price_cents))
    other = session.scalar(select(Order.number).join(Payment, Payment.order_id == Order.id)
                           .where(Payment.trade_no == line.reference))
    if other is not None:
        raise BillingError(N_("The bank reference %(reference)s already paid order %(other)s: a transfer pays "
                              "one order only."), reference=line.reference, other=other)
    if checkout.payment_of(session, order) is not None:
        raise BillingError(N_("Order %(number)s already has a payment."), number=order.number)
    payment = Payment(order_id=order.id, provider=BANK_TRANSFER, out_trade_no=order.number, trade_no=line.reference,
                      amount_cents=order.price_cents, status=PaymentStatus.PENDING)
    try:
        with session.begin_nested():  # another finance staff member matched the reference a moment ago
            session.add(payment)
    except IntegrityError:
        raise BillingError(N_("The bank reference %(reference)s already paid another order: a transfer pays one "
                              "order only."), reference=line.reference) from None
    checkout.settle(session, services, payment, line.reference, now, actor=staff.actor, now=now)
    record(session, staff.actor, "transfer.matched", order=order, target=f"payment:{payment.id}",
           after={"reference": line.reference, "amount_cents": line.amount_cents,
                  "value_date": line.value_date.isoformat(), "payer_name": line.payer_name})
    jobs.enqueue(session, MATCHED, order.id)
    return payment


def refuse_proof(session: Session, order: Order, reason: str, staff: Staff, *, now: dt.datetime) -> None:
    """No transfer on the statement answers the proof: it is set aside, the agent is told why and
    may upload a new one (the order keeps waiting)."""
    proof = _proof_to_decide(session, order)
    proof.superseded_at = now
    record(session, staff.actor, "transfer.refused", order=order, target=f"material:{proof.id}", note=reason)
    facts = {"number": order.number, "reason": reason}
    queue_sms(session, order.agent.phone, render_sms(REFUSED_MESSAGE, **facts), order=order)
    if order.agent.email:
        queue_email(session, order.agent.email,
                    render_email(REFUSED_MESSAGE, agent_name=order.agent.name, **facts), order=order)
    session.flush()
