"""Delivering the outboxes, so that what was committed reaches the applicant or a person is told.

The workers (`flask --app wsgi worker`) call `deliver_pending` every moment, and the command
`notifications deliver-pending` does the same once: every message that is due is sent, queued and
never tried, or failed and its next attempt time come. A failed attempt is tried again after
OUTBOX_RETRY_MINUTES (2, 10, 60 minutes, then every 6 hours), at most OUTBOX_MAX_ATTEMPTS attempts;
the last failure leaves the row `failed`, which the order page flags and the command reports.

Each attempt is three short transactions. The claim (web.database.claim: FOR UPDATE SKIP LOCKED
on PostgreSQL, the write lock on SQLite, and a conditional UPDATE from the status and attempt count
the sender saw) is committed before the send: of any number of workers exactly one takes a row,
and the others skip it. The claim also sets when the row is due again, so a sender that dies during
the send leaves it to a later run. No transaction is held across the gateway's call (SQLite would
keep every writer waiting for it). The outcome is recorded only if the row is still this attempt's.

An SMS or an e-mail whose sender died during the send may go out twice; a transfer never does.
A transfer the bank did not answer for (a timeout) is `unknown`, not failed: the next attempt
asks the bank by its request number first, and sends, with the same request number, only when
the bank says it was not made.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import case, literal, select, update
from sqlalchemy.engine import Row as Seen
from sqlalchemy.orm import Session

from models import BankTransfer, Delivery, EmailMessage, SmsMessage
from models.base import update_where, utcnow
from notifications.interfaces import (
    Attachment,
    MailDeliveryError,
    MailGateway,
    SmsContent,
    SmsDeliveryError,
    SmsGateway,
    TransferError,
    TransferGateway,
    TransferOutcomeUnknown,
)
from web.database import claim
from web.services import find_service

log = logging.getLogger(__name__)
Row = SmsMessage | EmailMessage | BankTransfer
NO_OUTCOME = "the sender stopped before it recorded the outcome of the last attempt"


@dataclass(frozen=True)
class RetryPolicy:
    delays: tuple[dt.timedelta, ...]  # after the 1st, 2nd, … failed attempt; the last repeats
    max_attempts: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RetryPolicy:
        return cls(tuple(dt.timedelta(minutes=int(m)) for m in config["OUTBOX_RETRY_MINUTES"]),
                   int(config["OUTBOX_MAX_ATTEMPTS"]))

    def delay_after(self, attempt: int) -> dt.timedelta:
        return self.delays[min(attempt, len(self.delays)) - 1]

    def next_attempt(self, attempt: int, now: dt.datetime) -> dt.datetime | None:
        """When to try again after attempt number `attempt` failed; None after the last one."""
        return None if attempt >= self.max_attempts else now + self.delay_after(attempt)


@dataclass(frozen=True)
class Gateways:
    sms: SmsGateway
    mailer: MailGateway
    bank: TransferGateway


def current_gateways() -> Gateways:
    return Gateways(find_service(SmsGateway), find_service(MailGateway), find_service(TransferGateway))


def current_policy() -> RetryPolicy:
    return RetryPolicy.from_config(current_app.config)


@dataclass
class Tally:
    """What one delivery did, by outcome; `given_up` lists the rows a person must see to."""

    sent: int = 0
    retrying: int = 0
    unknown: int = 0
    expired: int = 0
    given_up: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.unknown + self.expired + len(self.given_up)


@dataclass(frozen=True)
class _Outcome:
    status: Delivery  # SENT, FAILED (this attempt) or UNKNOWN
    ref: str | None = None
    error: str | None = None


def deliver_pending(session: Session, gateways: Gateways, policy: RetryPolicy, *, batch: int = 50) -> Tally:
    """Send up to `batch` due messages of each outbox; close those that are spent (no attempt
    left) or expired. It commits as it goes: give it a session with nothing pending."""
    tally = Tally()
    for model in (SmsMessage, EmailMessage, BankTransfer):
        _close_spent(session, model, policy, tally)
        if model is SmsMessage:
            _close_expired(session, tally)
        for row in _claim_due(session, model, policy, batch):
            _attempt(session, gateways, model, row.id, Delivery(row.status), row.attempts + 1, policy, tally)
    return tally


def _claim_due(session: Session, model: type[Row], policy: RetryPolicy, batch: int) -> list[Seen]:
    """Take due rows for one attempt each, while they still stand as seen; each is due again when
    its sender may be taken for dead."""
    now = utcnow()

    def take(row: Seen) -> bool:
        attempt = row.attempts + 1
        return update_where(session, model, model.id == row.id, model.status == row.status,
                            model.attempts == row.attempts, status=Delivery.SENDING, attempts=attempt,
                            next_attempt_at=now + policy.delay_after(attempt))

    due = (select(model.id, model.status, model.attempts)
           .where(model.next_attempt_at <= now, model.attempts < policy.max_attempts)
           .order_by(model.next_attempt_at, model.id).limit(batch))
    return claim(session, due, take)


def _attempt(session: Session, gateways: Gateways, model: type[Row], row_id: int, seen: Delivery, attempt: int,
             policy: RetryPolicy, tally: Tally) -> None:
    """Attempt number `attempt` at a claimed row that stood in status `seen`: send, record."""
    row = session.get(model, row_id)
    send = _sender(gateways, row, seen)  # reads the row now: nothing is loaded once the read ends
    label = f"{model.__tablename__} {row_id}"
    session.commit()
    outcome = send()
    now = utcnow()
    if outcome.status is Delivery.SENT:
        values = {"status": Delivery.SENT, "provider_ref": outcome.ref, "sent_at": now, "error": None,
                  "next_attempt_at": None}
        tally.sent += 1
    else:
        next_at = policy.next_attempt(attempt, now)
        status = Delivery.UNKNOWN if outcome.status is Delivery.UNKNOWN else (
            Delivery.QUEUED if next_at else Delivery.FAILED)
        values = {"status": status, "error": outcome.error, "next_attempt_at": next_at}
        log.warning("%s, attempt %d of %d: %s", label, attempt, policy.max_attempts, outcome.error)
        _count_failure(tally, label, status, next_at)
    update_where(session, model, model.id == row_id, model.status == Delivery.SENDING, model.attempts == attempt,
                 **values)
    session.commit()


def _sender(gateways: Gateways, row: Row, seen: Delivery) -> Callable[[], _Outcome]:
    if isinstance(row, SmsMessage):
        phone, content = row.phone, SmsContent(row.template, row.template_code or "", row.params, row.text)
        return lambda: _outcome(lambda: gateways.sms.send(phone, content), SmsDeliveryError)
    if isinstance(row, EmailMessage):
        to, subject, body = row.to_address, row.subject, row.body
        attachments = [Attachment(a.filename, a.content_type, a.content) for a in row.attachments]
        return lambda: _outcome(lambda: gateways.mailer.send(to, subject, body, attachments), MailDeliveryError)
    return _transfer_sender(gateways.bank, row, ask_first=seen in (Delivery.UNKNOWN, Delivery.SENDING))


def _transfer_sender(bank: TransferGateway, transfer: BankTransfer, *, ask_first: bool) -> Callable[[], _Outcome]:
    """A transfer whose last attempt has no known outcome is asked about before it is sent again."""
    request_no = transfer.request_no
    order = (transfer.account_name, transfer.account_number, transfer.bank_name, transfer.amount_cents, transfer.memo)

    def send() -> _Outcome:
        if ask_first:
            try:
                ref = bank.status(request_no)
            except TransferError as exc:
                return _Outcome(Delivery.UNKNOWN, error=f"status query: {exc}")
            if ref is not None:
                return _Outcome(Delivery.SENT, ref=ref)
        try:
            return _Outcome(Delivery.SENT, ref=bank.send(request_no, *order))
        except TransferOutcomeUnknown as exc:
            return _Outcome(Delivery.UNKNOWN, error=str(exc))
        except TransferError as exc:
            return _Outcome(Delivery.FAILED, error=str(exc))

    return send


def _outcome(send: Callable[[], str], error: type[Exception]) -> _Outcome:
    try:
        return _Outcome(Delivery.SENT, ref=send())
    except error as exc:
        return _Outcome(Delivery.FAILED, error=str(exc))


def _count_failure(tally: Tally, label: str, status: Delivery, next_at: dt.datetime | None) -> None:
    if next_at is None:
        log.error("%s is %s after its last attempt: a person must act (the order page shows it)", label,
                  status.value)
        tally.given_up.append(f"{label} {status}")
    elif status is Delivery.UNKNOWN:
        tally.unknown += 1
    else:
        tally.retrying += 1


def _close_spent(session: Session, model: type[Row], policy: RetryPolicy, tally: Tally) -> None:
    """Due rows with no attempt left: their sender stopped during the last attempt (or fewer
    attempts are allowed now). An SMS or e-mail is failed; a transfer whose outcome is not known
    stays unknown, since only the bank can say whether it was made."""
    status = (case((model.status == Delivery.QUEUED, literal(Delivery.FAILED.value)),
                   else_=literal(Delivery.UNKNOWN.value)) if model is BankTransfer else Delivery.FAILED)
    # One statement, no read before it: a read first would make SQLite refuse the write under a
    # concurrent run.
    closed = session.execute(
        update(model).where(model.next_attempt_at <= utcnow(), model.attempts >= policy.max_attempts)
        .values(status=status, next_attempt_at=None,
                error=case((model.status == Delivery.SENDING, literal(NO_OUTCOME)), else_=model.error))
        .returning(model.id, model.status).execution_options(synchronize_session=False)).all()
    session.commit()
    for row_id, closed_as in closed:
        _count_failure(tally, f"{model.__tablename__} {row_id}", Delivery(closed_as), None)


def _close_expired(session: Session, tally: Tally) -> None:
    """A code's SMS not sent before the code expired is not sent at all: the applicant asks for
    a new code, and an old one arriving later would only confuse."""
    tally.expired += session.execute(
        update(SmsMessage).where(SmsMessage.next_attempt_at <= utcnow(), SmsMessage.expires_at <= utcnow())
        .values(status=Delivery.EXPIRED, next_attempt_at=None)
        .execution_options(synchronize_session=False)).rowcount
    session.commit()
