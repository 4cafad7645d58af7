"""The applicant's order query (订单查询): the orders of one ID, opened by an SMS code sent to
the agent's phone. Plain functions on a SQLAlchemy session; the views keep the session mark.

Whose ID: the portal's manual asks for the certificate type and "the corresponding ID number";
for a unit certificate its query screen asks for the organisation's unified social credit
code. The agent's own ID document (the same types as on the application form) finds the
unit orders they handled. For a personal certificate (个人数字证书) the ID is the holder's: it finds
the personal orders whose holder has that ID (never a unit order the same person handled as agent
or legal representative), and the phone is the holder's on file.

The agent's (holder's) mobile phone is part of the question: the code goes to that phone, and only
the ID's orders with that phone on file are shown. Anybody may file an application naming a
company's (public) credit code with their own phone; they then see that application and
nothing else of the company's, and the company's own agent still gets their code.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, contains_eager, joinedload

from models import (
    Certificate,
    CertKind,
    IdentityMethod,
    IdType,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Order,
    OrderStatus,
    Organisation,
    Person,
    PersonRole,
    Shipment,
    record,
)
from models.business import ON_THE_SAME_KEY, new_certificate_needed
from models.order_state import UNPAID
from models.sealed import lookup_digest, mask, seal, unseal
from notifications.messages import render_sms
from public import sms_codes
from public.key_work import KEY_WORK_READY
from public.operations import session_hash
from web.errors import N_

CREDIT_CODE = "credit_code"  # the ID type of an organisation: its unified social credit code
QUERY_PURPOSE = "order_query"
QUERY_ACTOR = "applicant:query"
MARK_TTL = dt.timedelta(minutes=15)
# One message for every failure: a different one for "no code was ever sent" would tell
# whether the ID has orders.
CODE_REJECTED = N_("The SMS code is wrong or no longer valid. Please check it, or ask for a new code.")

HISTORY = frozenset({OrderStatus.COMPLETED, OrderStatus.REJECTED, OrderStatus.CANCELLED})
CONTINUABLE = UNPAID
NOT_ISSUED = "not_issued"
_SEAL_PURPOSE = "session.order_query.credit_code"
_PHONE_SEAL_PURPOSE = "session.order_query.phone"


class NotContinuable(Exception):
    """The order is past the applicant's steps (paid, in review, finished)."""


@dataclass(frozen=True)
class QueryIdentity:
    """What the applicant typed, reduced to what the lookup needs. A credit code is kept
    itself (the lookup needs it; it is sealed in the session mark); an ID number only as its
    keyed digest."""

    cert_kind: CertKind
    id_type: str  # CREDIT_CODE or an IdType value
    digest: str
    masked: str
    phone: str  # the agent's mobile phone: where the code goes, and whose orders are shown
    credit_code: str | None = None

    @classmethod
    def of(cls, cert_kind: str, id_type: str, number: str, phone: str) -> QueryIdentity:
        """`number` and `phone` as the validators normalised them."""
        if id_type != CREDIT_CODE:
            IdType(id_type)
        return cls(CertKind(cert_kind), id_type, lookup_digest(number), mask(number, 4, 4), phone,
                   number if id_type == CREDIT_CODE else None)


def session_mark(identity: QueryIdentity, *, now: dt.datetime) -> dict:
    """The identity as the browser session keeps it (JSON): never an ID number in clear."""
    mark = {"cert_kind": identity.cert_kind.value, "id_type": identity.id_type, "digest": identity.digest,
            "masked": identity.masked, "expires_at": int((now + MARK_TTL).timestamp()),
            "phone": base64.b64encode(seal(identity.phone, _PHONE_SEAL_PURPOSE)).decode()}
    if identity.credit_code is not None:
        mark["credit_code"] = base64.b64encode(seal(identity.credit_code, _SEAL_PURPOSE)).decode()
    return mark


def identity_from(mark, *, now: dt.datetime) -> QueryIdentity | None:
    """The identity of an unexpired session mark; None when missing, expired or unreadable."""
    if not isinstance(mark, dict):
        return None
    try:
        if now.timestamp() >= mark["expires_at"]:
            return None
        id_type = mark["id_type"]
        credit_code = None
        if id_type == CREDIT_CODE:
            credit_code = unseal(base64.b64decode(mark["credit_code"]), _SEAL_PURPOSE)
        else:
            IdType(id_type)
        phone = unseal(base64.b64decode(mark["phone"]), _PHONE_SEAL_PURPOSE)
        return QueryIdentity(CertKind(mark["cert_kind"]), id_type, mark["digest"], mark["masked"], phone,
                             credit_code)
    except (KeyError, TypeError, ValueError, binascii.Error, InvalidTag):
        return None


def _matching(identity: QueryIdentity) -> Select:
    query = (select(Order).join(Order.agent)
             .where(Order.cert_kind == identity.cert_kind, Person.phone == identity.phone))
    if identity.id_type == CREDIT_CODE:
        return query.join(Order.organisation).where(Organisation.credit_code == identity.credit_code)
    query = query.where(Person.id_number_digest == identity.digest, Person.id_type == IdType(identity.id_type))
    if identity.cert_kind is CertKind.PERSONAL:
        query = query.where(Person.role == PersonRole.HOLDER)
    return query


def _newest_first(query: Select) -> Select:
    return query.order_by(Order.created_at.desc(), Order.id.desc())


def find_orders(session: Session, identity: QueryIdentity) -> list[Order]:
    """Every order of the ID, newest first."""
    # One statement: the agent is the person the query joins already; the rest the page shows beside it.
    query = _newest_first(_matching(identity)).options(
        contains_eager(Order.agent), joinedload(Order.product), joinedload(Order.organisation),
        joinedload(Order.legal_rep), joinedload(Order.media_model), joinedload(Order.channel))
    return list(session.scalars(query).unique())


def latest_order(session: Session, identity: QueryIdentity) -> Order | None:
    return session.scalars(_newest_first(_matching(identity)).limit(1)).first()


def order_of(session: Session, identity: QueryIdentity, number: str) -> Order | None:
    """The order with this number, if it is one of the ID's orders."""
    return session.scalars(_matching(identity).where(Order.number == number)).first()


def send_query_code(
    session: Session, policy: sms_codes.CodePolicy, identity: QueryIdentity, *, client_ip: str | None
) -> None:
    """Send a code to the phone given, if it is the agent's phone of one of the ID's orders.
    The caller answers the same whatever happened here."""
    order = latest_order(session, identity)
    if order is None:
        return
    try:
        sms_codes.send_code(session, policy, phone=identity.phone, purpose=QUERY_PURPOSE,
                            message=lambda code: render_sms(QUERY_PURPOSE, code=code, minutes=policy.ttl_minutes),
                            client_ip=client_ip, order=order)
    except sms_codes.CodeRefused:
        # "Too soon" or "too many" would only ever be said for an ID that has orders. The
        # per-IP limit of the page answers everybody alike.
        return


def check_query_code(session: Session, policy: sms_codes.CodePolicy, identity: QueryIdentity, code: str) -> None:
    """Accept the agent's code for the ID (once); raises CodeInvalid with one message for all."""
    order = latest_order(session, identity)
    if order is None:
        raise sms_codes.CodeInvalid(CODE_REJECTED)
    try:
        sms_codes.use_code(session, policy, phone=identity.phone, purpose=QUERY_PURPOSE, code=code,
                           order=order)
    except sms_codes.CodeInvalid as exc:
        raise sms_codes.CodeInvalid(CODE_REJECTED) from exc


def invoice_status(invoices: list[Invoice]) -> str:
    """Where the order's invoicing stands: not issued, or the state of its blue invoice (a
    voided one replaced by a new issue counts as issued)."""
    blue = {i.status for i in invoices if i.kind == InvoiceKind.BLUE}
    for status in (InvoiceStatus.ISSUED, InvoiceStatus.REVERSED, InvoiceStatus.VOIDED):
        if status in blue:
            return status.value
    return NOT_ISSUED


def downloadable(invoice: Invoice) -> bool:
    """Issued and reversed blue invoices and red ones; a voided invoice is void."""
    return invoice.status != InvoiceStatus.VOIDED


def password_method(order: Order) -> str:
    """How the certificate password reaches the applicant (a personal certificate's holder: by SMS)."""
    if order.personal:
        return "sms_holder"
    if order.identity_method == IdentityMethod.CORPORATE_TRANSFER:
        return "transfer_memo"
    return "sms_legal_rep"


@dataclass(frozen=True)
class OrderRow:
    order: Order
    invoice_status: str
    invoices: list[Invoice]  # the ones the applicant may download
    certificate: Certificate | None
    shipment: Shipment | None  # the latest parcel

    @property
    def continuable(self) -> bool:
        return continuable(self.order)

    @property
    def ended_at(self) -> dt.datetime | None:
        o = self.order
        return o.completed_at or o.rejected_at or o.cancelled_at

    @property
    def password_method(self) -> str:
        return password_method(self.order)

    @property
    def shipped(self) -> bool:
        return self.order.status in (OrderStatus.SHIPPED, OrderStatus.COMPLETED)


@dataclass(frozen=True)
class QueryResults:
    unfinished: list[OrderRow]
    history: list[OrderRow]


def query_results(session: Session, identity: QueryIdentity) -> QueryResults:
    """The ID's orders split as the portal shows them: unfinished, and history."""
    orders = find_orders(session, identity)
    ids = [o.id for o in orders]
    invoices: dict[int, list[Invoice]] = {i: [] for i in ids}
    certificates: dict[int, Certificate] = {}
    shipments: dict[int, Shipment] = {}
    if ids:
        for shipment in session.scalars(select(Shipment).where(Shipment.order_id.in_(ids))
                                        .options(joinedload(Shipment.courier)).order_by(Shipment.id)):
            shipments[shipment.order_id] = shipment  # the latest wins
        for invoice in session.scalars(select(Invoice).where(Invoice.order_id.in_(ids))
                                       .order_by(Invoice.issued_at, Invoice.id)):
            invoices[invoice.order_id].append(invoice)
        for certificate in session.scalars(select(Certificate).where(Certificate.order_id.in_(ids))
                                           .order_by(Certificate.id)):
            certificates[certificate.order_id] = certificate  # the latest wins
    rows = [OrderRow(o, invoice_status(invoices[o.id]), [i for i in invoices[o.id] if downloadable(i)],
                     certificates.get(o.id), shipments.get(o.id)) for o in orders]
    return QueryResults(unfinished=[r for r in rows if r.order.status not in HISTORY],
                        history=[r for r in rows if r.order.status in HISTORY])


def invoice_for(session: Session, identity: QueryIdentity, invoice_id: int) -> Invoice | None:
    """A downloadable invoice of one of the ID's orders, else None."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or not downloadable(invoice):
        return None
    owned = session.scalar(_matching(identity).with_only_columns(Order.id).where(Order.id == invoice.order_id))
    return invoice if owned is not None else None


def continuable(order: Order) -> bool:
    """Unpaid, or a renewal's or information change's new certificate waiting for the key at the
    applicant's PC."""
    return order.status in CONTINUABLE or (order.business_type in ON_THE_SAME_KEY and order.status in KEY_WORK_READY
                                           and new_certificate_needed(order))


def rebind_order(session: Session, order: Order, *, applicant_secret: str) -> None:
    """'Continue': the order now belongs to this browser session (and no longer to the one
    that started it), so the applicant's pages open for it."""
    if not continuable(order):
        raise NotContinuable(order.number)
    new_hash = session_hash(applicant_secret)
    if order.applicant_session_hash == new_hash:
        return
    before = order.applicant_session_hash
    order.applicant_session_hash = new_hash
    # The first 12 characters are what the actor of the session's later steps shows.
    record(session, QUERY_ACTOR, "order.rebound", order=order,
           before={"applicant_session": before[:12] if before else None},
           after={"applicant_session": new_hash[:12]})
    session.flush()
