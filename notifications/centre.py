"""The notification centre: every SMS, e-mail and 0.01-yuan transfer of the outboxes in one list,
and a message sent again by hand.

The list is one UNION ALL of the three outboxes, filtered (the days are business days, Beijing
time, of the message's queueing), ordered and paged in the database; it reads no text, parameter or
memo, so a sealed message is never even opened. A transfer's account number is unsealed for the
rows of the page only, and shown masked, as phones are.

Sending again queues a new copy (notifications.outbox.queue_again) for the outbox to deliver with
its own retries; the row it copies stays as it was, and the copy names it (`resent_from_id`): a
row of the list says which message it copies and which copies were made of it. It is refused
while the outbox still has the message in hand, for a transfer the bank has not told the outcome
of, for a verification code's message, for a password's message unless the caller may send
secrets, and while an earlier copy is still waiting.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import false, func, literal, null, select, true, union_all
from sqlalchemy.orm import Session, load_only
from sqlalchemy.sql import Select

from models import BankTransfer, Delivery, EmailMessage, Order, SmsMessage, record
from models.batches import batches
from models.business_time import Days
from models.sealed import mask
from notifications.outbox import queue_again
from web.errors import N_, UserError

OUTBOXES: dict[str, type[SmsMessage | EmailMessage | BankTransfer]] = {
    "sms": SmsMessage, "email": EmailMessage, "transfer": BankTransfer}
TRANSFER_KIND = "certificate_password"  # the one thing a transfer carries
IN_HAND = (Delivery.QUEUED, Delivery.SENDING)
RESENT = "outbox.resent"
LOOKUP_BATCH = 1000  # ids in one IN (...): far below what SQLite and PostgreSQL bind in one statement


class ResendRefused(UserError):
    """Why a message is not sent again."""


@dataclass(frozen=True)
class OutboxFilter:
    number: str | None = None  # part of the order number
    phone: str | None = None  # part of the phone number (digits): SMS only
    channel: str | None = None  # one of OUTBOXES
    status: Delivery | None = None
    first: dt.date | None = None  # the first business day queued, included
    last: dt.date | None = None  # the last business day queued, included


@dataclass(frozen=True)
class OutboxRow:
    """One message as the centre shows it: where it went (masked), never what it said."""

    channel: str
    id: int
    order_number: str | None
    kind: str
    to: str
    status: Delivery
    attempts: int
    error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    secret: bool  # it carries a password
    for_a_code: bool  # a verification code's SMS
    request_no: str | None  # a transfer's
    resent_from_id: int | None  # the message of the same outbox this one copies
    copies: tuple[int, ...] = ()  # the messages sent again as copies of this one, oldest first

    @property
    def needs_a_person(self) -> bool:
        return self.status is Delivery.FAILED or (self.status is Delivery.UNKNOWN and self.next_attempt_at is None)

    def refusal(self, *, secrets_allowed: bool) -> ResendRefused | None:
        return _refusal(self.status, self.secret, self.for_a_code, secrets_allowed)


@dataclass
class OutboxPage:
    rows: list[OutboxRow]
    number: int
    size: int
    has_next: bool
    by_status: dict[Delivery, int] = field(default_factory=dict)  # every match, not the page's

    @property
    def first_row(self) -> int:
        return (self.number - 1) * self.size + 1


def _part(channel: str, flt: OutboxFilter) -> Select | None:
    if (flt.channel and flt.channel != channel) or (flt.phone and channel != "sms"):
        return None
    model = OUTBOXES[channel]
    to, secret, for_a_code, kind, request_no = {
        "sms": (SmsMessage.phone, SmsMessage.carries_secret, SmsMessage.expires_at.is_not(None),
                SmsMessage.template, null()),
        "email": (EmailMessage.to_address, false(), false(), EmailMessage.template, null()),
        "transfer": (BankTransfer.account_name, true(), false(), literal(TRANSFER_KIND), BankTransfer.request_no),
    }[channel]
    query = (select(literal(channel).label("channel"), model.id, Order.number.label("order_number"),
                    kind.label("kind"), to.label("to"), model.status, model.attempts, model.error, model.created_at,
                    model.sent_at, model.next_attempt_at, secret.label("secret"), for_a_code.label("for_a_code"),
                    request_no.label("request_no"), model.resent_from_id)
             .outerjoin(Order, Order.id == model.order_id))
    if flt.number:
        query = query.where(Order.number.contains(flt.number, autoescape=True))
    if flt.phone:
        query = query.where(SmsMessage.phone.contains(flt.phone, autoescape=True))
    if flt.status is not None:
        query = query.where(model.status == flt.status)
    query = query.where(*Days(flt.first, flt.last).conditions(model.created_at))
    return query


def _outbox(flt: OutboxFilter):
    parts = [part for channel in OUTBOXES if (part := _part(channel, flt)) is not None]
    return union_all(*parts).subquery("outbox") if parts else None


def outbox_page(session: Session, flt: OutboxFilter, number: int, size: int) -> OutboxPage:
    """One page of the messages that match, newest first, and how many match in each status."""
    outbox = _outbox(flt)
    if outbox is None:
        return OutboxPage([], number, size, False)
    found = session.execute(select(outbox).order_by(outbox.c.created_at.desc(), outbox.c.channel, outbox.c.id.desc())
                            .offset((number - 1) * size).limit(size + 1)).all()
    by_status = dict(session.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all())
    accounts = _masked_accounts(session, [r.id for r in found[:size] if r.channel == "transfer"])
    copies = _copies(session, found[:size])
    rows = [_row(r, accounts, copies) for r in found[:size]]
    return OutboxPage(rows, number, size, len(found) > size, {Delivery(s): n for s, n in by_status.items()})


def _masked_accounts(session: Session, transfer_ids: list[int]) -> dict[int, str]:
    masked = {}
    for batch in batches(transfer_ids, LOOKUP_BATCH):
        transfers = session.scalars(select(BankTransfer).where(BankTransfer.id.in_(batch))
                                    .options(load_only(BankTransfer.account_number)))
        masked.update({transfer.id: mask(transfer.account_number, 4, 4) for transfer in transfers})
    return masked


def _copies(session: Session, found) -> dict[tuple[str, int], tuple[int, ...]]:
    """The copies sent again of the rows found, by (channel, id) of the row they copy."""
    copies: dict[tuple[str, int], tuple[int, ...]] = {}
    for channel, model in OUTBOXES.items():
        for batch in batches([r.id for r in found if r.channel == channel], LOOKUP_BATCH):
            for original, copy in session.execute(select(model.resent_from_id, model.id)
                                                  .where(model.resent_from_id.in_(batch)).order_by(model.id)):
                copies[channel, original] = (*copies.get((channel, original), ()), copy)
    return copies


def _row(found, accounts: dict[int, str], copies: dict[tuple[str, int], tuple[int, ...]]) -> OutboxRow:
    values = dict(found._mapping)
    values["copies"] = copies.get((values["channel"], values["id"]), ())
    if values["channel"] == "sms":
        values["to"] = mask(values["to"], 3, 4)
    elif values["channel"] == "transfer":
        values["to"] = f"{values['to']} {accounts.get(values['id'], '')}".strip()
    values["status"] = Delivery(values["status"])
    values["secret"], values["for_a_code"] = bool(values["secret"]), bool(values["for_a_code"])
    return OutboxRow(**values)


# --- sending again -----------------------------------------------------------------------------


def _refusal(status: Delivery, secret: bool, for_a_code: bool, secrets_allowed: bool) -> ResendRefused | None:
    if status in IN_HAND:
        return ResendRefused(N_("The outbox is still trying this message; its retries are its own."))
    if status is Delivery.UNKNOWN:
        return ResendRefused(N_("The bank has not said whether this transfer was made: ask it by the request "
                                "number first; it is never made again before the bank answers."))
    if for_a_code:
        return ResendRefused(N_("A verification code's message is never sent again: the applicant asks for a "
                                "new code."))
    if secret and not secrets_allowed:
        return ResendRefused(N_("This message carries a password: only a senior reviewer may send it again."))
    return None


def _copy_waiting(session: Session, row: SmsMessage | EmailMessage | BankTransfer) -> bool:
    """A message to the same place about the same thing is still waiting for the outbox."""
    model = type(row)
    same = [model.order_id == row.order_id] if row.order_id is not None else [model.order_id.is_(None)]
    if isinstance(row, SmsMessage):
        same += [SmsMessage.phone == row.phone, SmsMessage.template == row.template]
    elif isinstance(row, EmailMessage):
        same += [EmailMessage.to_address == row.to_address, EmailMessage.template == row.template]
    return session.scalar(select(func.count()).select_from(model).where(
        *same, model.status.in_(IN_HAND), model.id != row.id)) > 0


def send_again(session: Session, row: SmsMessage | EmailMessage | BankTransfer, actor: str, *,
               secrets_allowed: bool) -> SmsMessage | EmailMessage | BankTransfer:
    """Queue a copy of a message the outbox is done with, as a new send; audited. Raises
    ResendRefused with the reason when it may not be sent again."""
    secret = isinstance(row, BankTransfer) or (isinstance(row, SmsMessage) and row.carries_secret)
    for_a_code = isinstance(row, SmsMessage) and row.expires_at is not None
    if refused := _refusal(Delivery(row.status), secret, for_a_code, secrets_allowed):
        raise refused
    if _copy_waiting(session, row):
        raise ResendRefused(N_("A copy of this message is already waiting in the outbox."))
    copy = queue_again(session, row)
    channel = next(name for name, model in OUTBOXES.items() if isinstance(row, model))
    record(session, actor, RESENT, order=session.get(Order, row.order_id) if row.order_id else None,
           target=f"{row.__tablename__}:{row.id}",
           after={"channel": channel, "kind": getattr(row, "template", TRANSFER_KIND), "copy": copy.id})
    return copy
