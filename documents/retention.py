"""The retention rule: an order's records are kept at least five years after its certificate
expires (Electronic Signature Law, art. 24), then its personal data and documents are removed.

Which orders are due:

- an order with certificates, once the last of them ended (``not_after``) more than the retention
  period ago; a revoked certificate counts from its end too, which is never earlier than its
  revocation, so the rule is kept either way;
- an order that never got a certificate, once it closed (rejected, cancelled, or completed
  without one, as a revocation is) more than the retention period ago: the application and its
  materials were records of the CA all the same, so they are kept as long;
- never an order whose refund is still to be made (its payer is owed money and told by SMS).

What goes: ID numbers, names, phones, e-mail addresses, postal addresses and bank accounts on the
order and its people and organisation (a personal certificate's holder is one of its people: their
name, ID number and the keyed digest of it go too), the texts of the SMS, e-mails and transfers about the order
(their rows stay, with kind, status and times), invoice copies attached to its e-mails, the
shipping label's recipient, staff's internal notes and the materials' files (their rows stay: the
kind, size and SHA-256 of what was reviewed).

What stays, for the audit: the order number, dates, states, business type, product and price,
the organisation's name and credit code (the certificate's subject, the invoices' buyer), the
certificates (serial, subject, DER: a personal one still names its holder, as issued), payments,
refunds and invoices with their PDFs (accounting records, kept 30 years under 会计档案管理办法,
an invoice to a person naming them), the review decisions and the audit chain, which
is append-only and never rewritten: its entries name actions, states and numbers, and staff's
notes (a rejection's reasons, a deny-list override's reason) stay in them as written.

Each order purged gets ``purged_at`` and an audit entry (``retention.purged``); each run one more
(``retention.run``). Nothing here commits: the caller's unit of work does.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from models import (
    BankTransfer,
    Certificate,
    EmailAttachment,
    EmailMessage,
    IdentityCheck,
    Material,
    MaterialRequest,
    Order,
    OrderNote,
    Payment,
    Refund,
    RefundStatus,
    Shipment,
    SmsCode,
    SmsMessage,
    record,
)
from models.order_state import CLOSED

log = logging.getLogger(__name__)
T = TypeVar("T", bound=Any)

# The law's minimum (Electronic Signature Law, art. 24): a setting may lengthen it, never shorten it.
MINIMUM_YEARS = 5
RUN_ACTION = "retention.run"
PURGED_ACTION = "retention.purged"
ACTOR = "system:retention"
# What a removed text reads (NOT NULL columns); nullable ones become NULL.
REMOVED = ""


class FileStore(Protocol):
    """Where the materials' files lie: the document store (documents.storage), by their names."""

    def delete(self, name: str) -> None: ...


@dataclass
class PurgeReport:
    """What a run removed (or, in a dry run, would remove)."""

    cutoff: dt.datetime
    dry_run: bool
    orders: list[str] = field(default_factory=list)
    files: int = 0
    people: int = 0
    messages: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # order number -> why it was left

    def counts(self) -> dict[str, int]:
        return {"orders": len(self.orders), "files": self.files, "people": self.people,
                "messages": self.messages, "failed": len(self.failed)}


def cutoff(now: dt.datetime, years: int) -> dt.datetime:
    """The moment `years` calendar years before `now` (29 February falls back to the 28th)."""
    if years < MINIMUM_YEARS:
        raise ValueError(f"records are kept at least {MINIMUM_YEARS} years (Electronic Signature Law, art. 24), "
                         f"not {years}")
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def due_orders(session: Session, before: dt.datetime, *, limit: int | None = None) -> list[Order]:
    """Orders not purged yet whose retention period ended at `before`, oldest first."""
    ends = (select(Certificate.order_id, func.max(Certificate.not_after).label("ends"))
            .group_by(Certificate.order_id).subquery())
    closed_at = func.coalesce(Order.completed_at, Order.rejected_at, Order.cancelled_at)
    refund_owed = exists().where(Payment.order_id == Order.id, Refund.payment_id == Payment.id,
                                 Refund.status != RefundStatus.SUCCEEDED)
    query = (select(Order).outerjoin(ends, ends.c.order_id == Order.id)
             .where(Order.purged_at.is_(None), ~refund_owed,
                    or_(ends.c.ends < before,
                        and_(ends.c.order_id.is_(None), Order.status.in_(CLOSED), closed_at < before)))
             .order_by(Order.id).limit(limit))
    return list(session.scalars(query))


def purge_expired(session: Session, now: dt.datetime, store: FileStore, *, years: int = MINIMUM_YEARS,
                  dry_run: bool = False, limit: int | None = None, actor: str = ACTOR) -> PurgeReport:
    """Remove the personal data and documents of every order due under the retention rule (at
    most `limit` of them), and say what was removed. A dry run only counts. An order whose files
    cannot all be deleted is left as it is, for the next run, and named in the report."""
    report = PurgeReport(cutoff(now, years), dry_run)
    for order in due_orders(session, report.cutoff, limit=limit):
        files = _material_files(session, order)
        if not dry_run:
            try:
                # Files first: should the transaction then fail, the next run finds the order again
                # (deleting a missing file is no error); the other way round a crash would leave
                # files no purge ever looks for.
                for name in files:
                    store.delete(name)
            except Exception as exc:  # a store's own errors (OSError, an unreachable bucket) alike
                log.exception("retention: the files of order %s could not be deleted", order.number)
                report.failed[order.number] = str(exc) or type(exc).__name__
                continue
        people, messages = _purge_rows(session, order, dry_run=dry_run)
        report.orders.append(order.number)
        report.files += len(files)
        report.people += people
        report.messages += messages
        if not dry_run:
            order.purged_at = now
            record(session, actor, PURGED_ACTION, order=order,
                   after={"files": len(files), "people": people, "messages": messages,
                          "cutoff": report.cutoff.isoformat()})
    if not dry_run:
        record(session, actor, RUN_ACTION, after={**report.counts(), "cutoff": report.cutoff.isoformat(),
                                                  "years": years},
               note=", ".join(report.orders)[:2000] or None)
        session.flush()
    return report


def _material_files(session: Session, order: Order) -> list[str]:
    """The order's files that no other order's material names: an upload is the order's own, but
    demo data shares one file between many orders."""
    mine = Material.__table__.alias("mine")
    shared = (select(Material.id).where(Material.stored_name == mine.c.stored_name, Material.order_id != order.id)
              .exists())
    return list(session.scalars(select(mine.c.stored_name).where(mine.c.order_id == order.id, ~shared)
                                .distinct().order_by(mine.c.stored_name)))


def _purge_rows(session: Session, order: Order, *, dry_run: bool) -> tuple[int, int]:
    """Empty the order's personal data; (people, messages) concerned. Through the mapped rows,
    not bulk UPDATEs: the sealed columns are sealed on the way, as any write of them is."""
    people = [person for person in {order.legal_rep, order.agent} if person is not None]  # a holder alone
    sms = _of(session, SmsMessage, order)
    emails = _of(session, EmailMessage, order)
    transfers = _of(session, BankTransfer, order)
    if dry_run:
        return len(people), len(sms) + len(emails) + len(transfers)
    for person in people:
        person.name, person.phone, person.email = REMOVED, None, None
        person.id_number = person.bank_card_number = None  # the ID number's digests go with it
    if order.organisation is not None:  # a personal order has no organisation and no corporate account
        order.organisation.phone = None
        order.account_name = order.account_number = REMOVED
        order.account_number_digest = REMOVED  # set after the number, whose validator digests it
    order.invoice_address_phone = order.invoice_bank_account = None
    order.mailing_address = REMOVED
    order.applicant_session_hash = order.certificate_password = None
    order.revocation_note = None  # the applicant's own words about a revocation
    for message in sms:
        message.phone, message.body, message.sealed_body, message.sealed_params = REMOVED, None, None, None
    for code in _of(session, SmsCode, order):
        code.phone, code.client_ip = REMOVED, None
    for email in emails:
        email.to_address, email.body = REMOVED, REMOVED
        # An invoice attached to an e-mail is a copy: the invoice itself keeps its PDF.
        session.execute(delete(EmailAttachment).where(EmailAttachment.email_id == email.id))
    for transfer in transfers:
        transfer.account_name, transfer.account_number, transfer.memo = REMOVED, REMOVED, REMOVED
    for shipment in _of(session, Shipment, order):
        shipment.recipient, shipment.phone, shipment.address = REMOVED, REMOVED, REMOVED
    for material in _of(session, Material, order):
        material.original_filename = None
    for request in _of(session, MaterialRequest, order):
        request.message = None
    for note in _of(session, OrderNote, order):
        note.text = REMOVED
    for check in _of(session, IdentityCheck, order):
        check.detail = None
    return len(people), len(sms) + len(emails) + len(transfers)


def _of(session: Session, model: type[T], order: Order) -> list[T]:
    return list(session.scalars(select(model).where(model.order_id == order.id)))
