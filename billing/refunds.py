"""Giving a payment back: proposed (by a rejection, or automatically for a late payment),
confirmed by finance, sent to the provider, and reversed on the invoice side.

The request number is derived from the trade (one whole refund per payment), so sending a
refund again after a crash or a timeout asks the provider for the same refund, which it
answers without paying twice; and a refund sent before is first looked up by that number
(the provider's refund query), so one whose answer was lost is settled without a second call.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing import invoice_work, invoices
from billing.capital import money
from billing.payments.interfaces import ProviderError, RefundState
from billing.services import BillingError, BillingServices
from models import BANK_TRANSFER, Order, Payment, PaymentStatus, Refund, RefundReason, RefundStatus, Staff, record
from models.base import update_if
from notifications import outbox
from notifications.messages import render_sms
from web import jobs
from web.errors import N_

log = logging.getLogger(__name__)


def propose_refund(session: Session, payment: Payment, reason: RefundReason, *, actor: str,
                   confirmed_at: dt.datetime | None = None) -> Refund:
    """The refund of a paid payment; a second proposal answers the first one. One proposed
    with `confirmed_at` needs no confirmation (a late payment goes back at once)."""
    if payment.refund is not None:
        return payment.refund
    if payment.status is not PaymentStatus.PAID:
        raise BillingError(N_("Only a paid payment can be refunded."))
    refund = Refund(payment=payment, out_request_no=f"{payment.out_trade_no}-R1", amount_cents=payment.amount_cents,
                    reason=reason, requested_by=actor, confirmed_at=confirmed_at,
                    status=RefundStatus.CONFIRMED if confirmed_at else RefundStatus.AWAITING_CONFIRMATION)
    session.add(refund)
    session.flush()
    record(session, actor, "refund.proposed", order=payment.order, target=f"refund:{refund.out_request_no}",
           after={"reason": str(reason), "amount_cents": refund.amount_cents, "status": str(refund.status)})
    return refund


def propose_refund_for_rejected(session: Session, order: Order, *, actor: str) -> Refund | None:
    """A rejected order that was paid gets its refund proposed; finance confirms it."""
    payment = _paid_payment(session, order)
    return propose_refund(session, payment, RefundReason.REJECTED, actor=actor) if payment else None


def refund_for_lapsed_request(session: Session, order: Order, *, actor: str, now: dt.datetime) -> Refund | None:
    """An order cancelled because the materials asked for never came: its payment goes back with no
    one's confirmation (there is nothing to judge), sent by `billing sweep` (or by finance, for a
    bank transfer)."""
    payment = _paid_payment(session, order)
    return propose_refund(session, payment, RefundReason.MATERIALS_LAPSED, actor=actor,
                          confirmed_at=now) if payment else None


def _paid_payment(session: Session, order: Order) -> Payment | None:
    payment = session.scalar(select(Payment).where(Payment.order_id == order.id))
    return payment if payment is not None and payment.status is PaymentStatus.PAID else None


def confirm_refund(session: Session, services: BillingServices, refund: Refund, staff: Staff, *,
                   now: dt.datetime) -> None:
    """Finance's confirmation, then the refund is sent. Of two confirmations at once exactly
    one goes through: a conditional UPDATE from "awaiting confirmation"."""
    if not update_if(session, refund, Refund.status == RefundStatus.AWAITING_CONFIRMATION,
                     status=RefundStatus.CONFIRMED, confirmed_by_id=staff.id, confirmed_at=now):
        raise BillingError(N_("This refund is not waiting for confirmation."))
    record(session, staff.actor, "refund.confirmed", order=refund.payment.order,
           target=f"refund:{refund.out_request_no}")
    execute_refund(session, services, refund, actor=staff.actor, now=now)


def execute_refund(session: Session, services: BillingServices, refund: Refund, *, actor: str,
                   now: dt.datetime) -> bool:
    """Send a confirmed refund to the provider. On failure it stays confirmed, with the error,
    for `billing sweep` or finance to send again. On success the payment is refunded and an
    invoice in force is reversed by a red one.

    A refund sent before may have been made even though the answer said otherwise or never came
    (a timeout, a broken connection), so it is first asked about by its request number: made, it
    is settled without being sent; not made, it is sent again with the same request number;
    the question unanswered too, it waits for the next sweep. Nobody is refunded twice."""
    if refund.status is not RefundStatus.CONFIRMED:
        return refund.status is RefundStatus.SUCCEEDED
    if paid_back_by_hand(refund):  # finance transfers it back and records the transfer (record_paid_back)
        return False
    sent_before = refund.attempts > 0
    # Claim this attempt: of two senders at once (finance's "send again" and the sweep) one goes on.
    if not update_if(session, refund, Refund.status == RefundStatus.CONFIRMED, Refund.attempts == refund.attempts,
                     attempts=Refund.attempts + 1):
        return refund.status is RefundStatus.SUCCEEDED
    try:
        made = sent_before and _made_already(services, refund)
    except ProviderError as exc:
        return _failed(session, refund, f"refund query: {exc}", actor=actor)
    if not made:
        payment = refund.payment
        try:
            services.provider.refund(payment.out_trade_no, refund.amount_cents, refund.out_request_no,
                                     _reason_text(refund.reason))
        except ProviderError as exc:
            return _failed(session, refund, str(exc), actor=actor)
    _settle(session, refund, actor=actor, now=now, note="found made by the refund query" if made else None)
    return True


def paid_back_by_hand(refund: Refund) -> bool:
    """A bank transfer finance matched (补办) went to no provider: it goes back the same way."""
    return refund.payment.provider == BANK_TRANSFER


def record_paid_back(session: Session, refund: Refund, reference: str, staff: Staff, *, now: dt.datetime) -> None:
    """Finance paid a confirmed refund of a bank transfer back from the CA's account: the transfer's
    reference settles it (the payment refunded, the payer told, the invoice reversed), once."""
    if not paid_back_by_hand(refund):
        raise BillingError(N_("This refund goes back through the payment provider, not by a transfer."))
    if not update_if(session, refund, Refund.status == RefundStatus.CONFIRMED, attempts=Refund.attempts + 1):
        raise BillingError(N_("This refund is not waiting to be paid back."))
    _settle(session, refund, actor=staff.actor, now=now, note=f"paid back by bank transfer {reference}")


def _failed(session: Session, refund: Refund, error: str, *, actor: str) -> bool:
    refund.last_error = error
    log.warning("refund %s failed: %s", refund.out_request_no, error)
    record(session, actor, "refund.failed", order=refund.payment.order, target=f"refund:{refund.out_request_no}",
           note=error)
    return False


def _made_already(services: BillingServices, refund: Refund) -> bool:
    """What the provider says of the refund's request number (a ProviderError: it could not say)."""
    answer = services.provider.query_refund(refund.payment.out_trade_no, refund.out_request_no)
    if answer.state is not RefundState.REFUNDED:
        return False
    if answer.refund_cents not in (None, refund.amount_cents):
        # Our request numbers are never reused for another amount: finance must look at it.
        raise ProviderError(f"the provider made refund {refund.out_request_no} of {answer.refund_cents} cents, "
                            f"not {refund.amount_cents}")
    return True


def _settle(session: Session, refund: Refund, *, actor: str, now: dt.datetime,
            note: str | None = None) -> None:
    """The provider made the refund: the payment is refunded, the payer told, the invoice reversed."""
    payment = refund.payment
    refund.status, refund.succeeded_at, refund.last_error = RefundStatus.SUCCEEDED, now, None
    payment.status = PaymentStatus.REFUNDED
    record(session, actor, "refund.succeeded", order=payment.order, target=f"refund:{refund.out_request_no}",
           after={"amount_cents": refund.amount_cents}, note=note)
    order = payment.order
    outbox.queue_sms(session, order.agent.phone, render_sms(
        "refund_succeeded", number=order.number, amount=money(refund.amount_cents)), order=order)
    reverse_invoice(session, payment.order)


def reverse_invoice(session: Session, order: Order) -> None:
    """A refunded order's invoice in force gets its red invoice, from a worker
    (billing.invoice_work; retried by the sweep if the issuer is down)."""
    if invoices.active_blue_invoice(session, order) is not None:
        jobs.enqueue(session, invoice_work.RED, order.id)


def _reason_text(reason: RefundReason) -> str:
    return {RefundReason.REJECTED: "证书申请审核未通过，退还款项",
            RefundReason.LATE_PAYMENT: "订单已超时取消，退还款项",
            RefundReason.MATERIALS_LAPSED: "补充材料逾期未提交，订单已取消，退还款项"}[reason]
