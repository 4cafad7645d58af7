"""The review queues: one keyset-paginated page of a queue, the counts in the navigation,
and the support line's search across every order.

A queue page walks the index (queue, sla_due_at, id): the page after a row is the rows
whose (due, id) comes after it, so page 2,000 costs what page 1 costs. Counts come from
one grouped query, cached for a few seconds per process instead of counted per request.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from models import (
    BusinessType,
    CertKind,
    Channel,
    Order,
    OrderStatus,
    Organisation,
    Person,
    ReviewQueue,
    Staff,
)
from models.holders import HOLDER_NAME, holder, with_holder
from review import sla
from web.request_guard import bounded_int

# What a reviewer works on; an order waiting for the applicant stays listed but paused.
ACTIVE = (OrderStatus.PAID, OrderStatus.IN_REVIEW)
LISTED = (*ACTIVE, OrderStatus.MORE_MATERIALS_NEEDED)
# Waiting or in review in one of the queues: what the counts, badges and the digest count.
IN_A_QUEUE = and_(Order.queue.is_not(None), Order.status.in_(ACTIVE))
DUE_FILTERS = ("overdue", "due_today", "due_in_1_day")


@dataclass(frozen=True)
class QueueFilter:
    channel_id: int | None = None
    business_type: BusinessType | None = None
    region: str | None = None  # province code of the organisation (of a person: of their mailing address)
    status: OrderStatus | None = None
    reviewer: str | None = None  # "me", "none" or a staff id
    due: str | None = None  # one of DUE_FILTERS
    q: str | None = None  # order number, organisation name or credit code; a holder's name or phone


@dataclass(frozen=True)
class Cursor:
    due: dt.datetime
    order_id: int

    def encode(self) -> str:
        return f"{int(self.due.timestamp() * 1_000_000)}.{self.order_id}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        try:
            micros, order_id = text.split(".")
            due = dt.datetime.fromtimestamp(int(micros) / 1_000_000, dt.UTC)
            return cls(due, bounded_int(order_id))
        except (AttributeError, ValueError, OverflowError, OSError):
            return None


@dataclass
class QueuePage:
    rows: list
    next_cursor: Cursor | None
    prev_cursor: Cursor | None
    time_left: dict[int, sla.TimeLeft | None] = field(default_factory=dict)
    waiting: dict[int, sla.Span | None] = field(default_factory=dict)  # working time since the clock started


reviewer = aliased(Staff)


def _columns():
    return (
        Order.id, Order.number, Order.business_type, Order.status, Order.queue,
        Order.paid_at, Order.sla_started_at, Order.sla_due_at, Order.sla_limit_at,
        Order.sla_paused_target_seconds, Order.sla_paused_limit_seconds, Order.reviewer_id,
        HOLDER_NAME.label("holder_name"), Organisation.credit_code,
        Channel.name.label("channel_name"),
        reviewer.display_name.label("reviewer_name"),
    )


def _filtered(query, queue: ReviewQueue | None, f: QueueFilter, me: Staff, calendar, now):
    query = (with_holder(query)
             .join(Channel, Order.channel_id == Channel.id)
             .outerjoin(reviewer, Order.reviewer_id == reviewer.id)
             .where(Order.queue == queue if queue is not None else Order.queue.is_not(None),
                    Order.status.in_([f.status] if f.status in LISTED else ACTIVE)))
    if f.channel_id:
        query = query.where(Order.channel_id == f.channel_id)
    if f.business_type:
        query = query.where(Order.business_type == f.business_type)
    if f.region:
        query = query.where(func.coalesce(Organisation.region_province, Order.mailing_province) == f.region)
    if f.reviewer == "me":
        query = query.where(Order.reviewer_id == me.id)
    elif f.reviewer == "none":
        query = query.where(Order.reviewer_id.is_(None))
    elif f.reviewer and f.reviewer.isdigit() and len(f.reviewer) < 10:  # a staff id, never out of range
        query = query.where(Order.reviewer_id == int(f.reviewer))
    if f.due in DUE_FILTERS:
        lo, hi = sla.due_window(calendar, now, f.due)
        if lo is not None:
            query = query.where(Order.sla_due_at >= lo)
        if hi is not None:
            query = query.where(Order.sla_due_at < hi)
    if f.q:
        query = query.where(_matches(f.q.strip()))
    return query


def _matches(text: str):
    """An order number by its beginning, a credit code exactly, an organisation name in part; a personal
    order's holder by their name in part or their phone exactly (a query joined `with_holder`)."""
    upper = text.upper()
    return or_(Order.number.startswith(upper, autoescape=True), Organisation.credit_code == upper,
               Organisation.name.contains(text, autoescape=True),
               and_(Order.cert_kind == CertKind.PERSONAL,
                    or_(holder.name.contains(text, autoescape=True), holder.phone == text)))


def queue_page(session: Session, queue: ReviewQueue | None, f: QueueFilter, me: Staff, *,
               calendar, now: dt.datetime, after: Cursor | None = None,
               before: Cursor | None = None, size: int = 20) -> QueuePage:
    """One page of a queue (None: every queue), by SLA due time then order id."""
    key = tuple_(Order.sla_due_at, Order.id)
    query = _filtered(select(*_columns()), queue, f, me, calendar, now)
    if before is not None:
        query = query.where(key < tuple_(before.due, before.order_id))
        query = query.order_by(Order.sla_due_at.desc(), Order.id.desc())
    else:
        if after is not None:
            query = query.where(key > tuple_(after.due, after.order_id))
        query = query.order_by(Order.sla_due_at, Order.id)
    rows = session.execute(query.limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    if before is not None:
        rows.reverse()
    first, last = (rows[0], rows[-1]) if rows else (None, None)
    has_prev = more if before is not None else after is not None
    has_next = more if before is None else True
    return QueuePage(
        rows=rows,
        next_cursor=Cursor(last.sla_due_at, last.id) if rows and has_next else None,
        prev_cursor=Cursor(first.sla_due_at, first.id) if rows and has_prev else None,
        time_left={row.id: sla.time_left(row, calendar, now) for row in rows} if calendar else {},
        waiting={row.id: sla.waiting(row, calendar, now) for row in rows} if calendar else {},
    )


def overdue_page(session: Session, me: Staff, *, calendar, now: dt.datetime, after: Cursor | None = None,
                 before: Cursor | None = None, size: int = 20) -> QueuePage:
    """Every overdue item across the queues, by SLA due time: what the senior reviewer's overdue
    badge counts (sla_badges), waiting or in review with its target passed."""
    return queue_page(session, None, QueueFilter(due="overdue"), me, calendar=calendar, now=now,
                      after=after, before=before, size=size)


def search_orders(session: Session, text: str, limit: int = 50) -> list:
    """The support line's search over every order in every state."""
    text = text.strip()
    if not text:
        return []
    person = aliased(Person)
    by_phone = (select(Order.id).join(person, or_(Order.legal_rep_id == person.id, Order.agent_id == person.id))
                .where(person.phone == text))
    query = (with_holder(select(Order.id, Order.number, Order.business_type, Order.status, Order.created_at,
                                HOLDER_NAME.label("holder_name"), Organisation.credit_code))
             .where(or_(_matches(text), Order.number.startswith(text.upper(), autoescape=True),
                        Order.id.in_(by_phone)))
             .order_by(Order.id.desc()).limit(limit))
    return session.execute(query).all()


# --- counts ------------------------------------------------------------------------


class _TtlCache:
    def __init__(self):
        self._values: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, ttl: float, compute):
        now = time.monotonic()
        with self._lock:
            hit = self._values.get(key)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        value = compute()
        with self._lock:
            self._values[key] = (now, value)
        return value


_cache = _TtlCache()


def queue_counts(session: Session, ttl: float) -> dict[ReviewQueue, int]:
    """Orders waiting or in review per queue."""
    def compute():
        rows = session.execute(
            select(Order.queue, func.count()).where(IN_A_QUEUE)
            .group_by(Order.queue)).all()
        counts = dict.fromkeys(ReviewQueue, 0)
        counts.update({queue: n for queue, n in rows})
        return counts

    return _cache.get("queues", ttl, compute)


def sla_badges(session: Session, calendar, now: dt.datetime, ttl: float) -> dict[str, int]:
    """Overdue and due-soon (within one working day) counts across all queues."""
    def compute():
        _, soon = sla.due_window(calendar, now, "due_in_1_day")
        overdue = session.scalar(select(func.count()).where(IN_A_QUEUE, Order.sla_due_at < now))
        due_soon = session.scalar(select(func.count()).where(
            IN_A_QUEUE, Order.sla_due_at >= now, Order.sla_due_at < soon))
        return {"overdue": overdue or 0, "due_soon": due_soon or 0}

    return _cache.get("badges", ttl, compute)


def unclaimed(session: Session, queue: ReviewQueue, limit: int = 50) -> list[Order]:
    """The queue's items nobody holds, waiting for review, by SLA due time: what "take the next" offers."""
    return list(session.scalars(
        select(Order).where(Order.queue == queue, Order.status == OrderStatus.PAID, Order.reviewer_id.is_(None))
        .order_by(Order.sla_due_at.nulls_last(), Order.id).limit(limit)))
