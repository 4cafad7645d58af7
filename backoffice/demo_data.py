"""Demo applications in bulk: `flask --app wsgi demo-data --applications N`.

Each application gets its organisation, legal representative and agent, five materials
(a few tiny images written once and shared), a status somewhere along the whole flow with
matching timestamps, queue and working-day SLA clock, and its status history in the audit
hash chain. Rows go in as Core bulk inserts: an ORM object per row takes minutes for
100,000 applications.
"""
from __future__ import annotations

import datetime as dt
import gc
import hashlib
import io
import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace

import click
from flask import current_app
from flask.cli import with_appcontext
from PIL import Image, ImageDraw
from sqlalchemy import Table, func, insert, select, text, update
from sqlalchemy.orm import Session

from backoffice.demo_people import DEPARTMENTS, Faker
from backoffice.extensions import db
from models import (
    REVIEW_ROLES,
    AgentIdentityMethod,
    AuditChainHead,
    AuditEntry,
    BusinessType,
    Channel,
    ChannelProduct,
    Decision,
    IdentityMethod,
    Material,
    MaterialKind,
    MediaModel,
    Order,
    OrderSequence,
    OrderStatus,
    Organisation,
    Person,
    PersonRole,
    Price,
    Product,
    RejectionReason,
    ReviewDecision,
    ReviewQueue,
    Staff,
    StaffRole,
)
from models.audit_chain import entry_hash
from models.base import utcnow
from models.order_number import BUSINESS_TZ, format_order_number, take_next
from models.order_state import CertKind
from models.sealed import lookup_digest
from public.catalogue import choose_price
from public.materials import MaterialStore, check_image
from public.operations import SIGNATURE_CONSENT
from review import sla

CHUNK = 5000  # applications per round of inserts, and rows per executemany
DAY = 86400
S = OrderStatus

FILE_LABELS = {MaterialKind.BUSINESS_LICENCE: "营业执照", MaterialKind.AGENT_ID_FRONT: "身份证正面",
               MaterialKind.AGENT_ID_BACK: "身份证反面", MaterialKind.ESEAL_SAMPLE_FORM: "电子印章采集表",
               MaterialKind.AUTHORISATION_LETTER: "法人授权书"}


# --- where an application stands, and how it got there -----------------------------------


@dataclass(frozen=True)
class Scenario:
    """One way an application stands today: the statuses it went through and since when."""

    share: float
    path: tuple[OrderStatus, ...]  # the statuses after awaiting_materials, in order
    business_type: BusinessType = BusinessType.NEW
    queue: ReviewQueue | None = None
    age_days: tuple[float, float] = (0, 4.5)  # how long ago it was paid (created, if never paid): most within SLA
    window_days: float = 3  # the later steps all happen within this many days
    claimed: float = 0.0  # the share of those waiting in a queue that a reviewer holds


_PAY = (S.AWAITING_SIGNATURE, S.AWAITING_PAYMENT, S.PAID)
_REVIEW = (*_PAY, S.IN_REVIEW)
_TODAY = (0, 0.9)  # unpaid orders are cancelled after 24 hours, so the open ones are recent
SCENARIOS = (  # the first one takes the rounding remainder: the new queue holds at least 40 %
    Scenario(0.42, _PAY, queue=ReviewQueue.NEW, claimed=0.3),
    Scenario(0.04, (*_REVIEW, S.MORE_MATERIALS_NEEDED), queue=ReviewQueue.NEW),
    Scenario(0.03, (*_REVIEW, S.MORE_MATERIALS_NEEDED, S.PAID), queue=ReviewQueue.RESUBMITTED),
    Scenario(0.05, _PAY, BusinessType.REPLACEMENT, ReviewQueue.REPLACEMENT, claimed=0.25),
    Scenario(0.04, _PAY, BusinessType.INFO_CHANGE, ReviewQueue.INFO_CHANGE, claimed=0.25),
    Scenario(0.03, _PAY, BusinessType.REVOCATION, ReviewQueue.REVOCATION, claimed=0.25),
    Scenario(0.05, (), age_days=_TODAY),
    Scenario(0.02, (S.AWAITING_SIGNATURE,), age_days=_TODAY),
    Scenario(0.05, (S.AWAITING_SIGNATURE, S.AWAITING_PAYMENT), age_days=_TODAY),
    Scenario(0.02, (S.AWAITING_SIGNATURE, S.AWAITING_PAYMENT, S.CANCELLED), age_days=(2, 60), window_days=1),
    Scenario(0.06, (*_REVIEW, S.APPROVED), age_days=(1, 8)),
    Scenario(0.04, (*_REVIEW, S.REJECTED), age_days=(1, 60)),
    Scenario(0.15, (*_REVIEW, S.APPROVED, S.PROGRAMMING, S.SHIPPED, S.COMPLETED), age_days=(10, 300),
             window_days=14),
)
# Seconds from the previous step to this one, for the steps before payment.
_GAPS = {S.AWAITING_SIGNATURE: (300, DAY), S.AWAITING_PAYMENT: (60, 6 * 3600), S.PAID: (60, 20 * 3600)}
_CONSENT_NOTE = "consent sha256 " + hashlib.sha256(SIGNATURE_CONSENT.encode()).hexdigest()
_STATUS_JSON = {status: {"status": str(status)} for status in OrderStatus}  # shared: never mutated
# Who moves an order into each status, and the note the real operation writes.
_STEPS = {
    S.AWAITING_SIGNATURE: ("applicant", None),
    S.AWAITING_PAYMENT: ("applicant", _CONSENT_NOTE),
    S.PAID: ("system", None),  # the payment; after more materials, the applicant's upload
    S.IN_REVIEW: ("reviewer", "claimed"),
    S.MORE_MATERIALS_NEEDED: ("reviewer", None),  # the note names the documents asked for
    S.APPROVED: ("reviewer", None),
    S.REJECTED: ("reviewer", None),  # the note gives the reason
    S.PROGRAMMING: ("station", None),
    S.SHIPPED: ("station", None),
    S.COMPLETED: ("system", None),
    S.CANCELLED: ("system", "unpaid for 24 hours"),
}


@dataclass
class Plan:
    """One application before it becomes rows."""

    scenario: Scenario
    events: list[tuple[OrderStatus, dt.datetime]]  # starts with (awaiting_materials, created_at)
    channel_id: int
    product_id: int
    cert_kind: CertKind
    number: str = ""

    def __post_init__(self):
        self.created_at = self.events[0][1]
        self.status, self.updated_at = self.events[-1]
        self.first = {status: at for status, at in reversed(self.events)}  # when it first reached each status
        self.resubmitted = self.status == S.PAID and S.MORE_MATERIALS_NEEDED in self.first


def _timeline(rng: random.Random, scenario: Scenario, path: tuple[OrderStatus, ...],
              now: dt.datetime) -> list[tuple[OrderStatus, dt.datetime]]:
    statuses = (S.AWAITING_MATERIALS, *path)
    anchor = statuses.index(S.PAID) if S.PAID in statuses else 0
    times: list[dt.datetime] = [now] * len(statuses)
    times[anchor] = now - dt.timedelta(seconds=rng.uniform(*scenario.age_days) * DAY)
    for i in range(anchor - 1, -1, -1):
        times[i] = times[i + 1] - dt.timedelta(seconds=rng.uniform(*_GAPS[statuses[i + 1]]))
    room = min((now - times[anchor]).total_seconds(), scenario.window_days * DAY)
    later = sorted(rng.uniform(0, room) for _ in statuses[anchor + 1:])
    for i, offset in enumerate(later, anchor + 1):
        times[i] = times[anchor] + dt.timedelta(seconds=offset)
    if statuses[-1] == S.CANCELLED:
        times[-1] = times[0] + dt.timedelta(seconds=DAY + rng.uniform(0, 900))
    return list(zip(statuses, times, strict=True))


def _scenario_counts(n: int) -> list[int]:
    counts = [int(s.share * n) for s in SCENARIOS]
    counts[0] += n - sum(counts)
    return counts


# --- reference data --------------------------------------------------------------------


class Catalogue:
    """What the orders refer to: channels, products, prices, key models, staff, SLA policies."""

    def __init__(self, session: Session):
        channels = session.execute(select(Channel.id, Channel.code).where(Channel.active).order_by(Channel.id)).all()
        units = dict(session.execute(select(Product.id, Product.cert_kind).where(
            Product.active, Product.cert_kind == CertKind.UNIT).order_by(Product.id)).all())
        restricted: dict[int, list[int]] = {}
        for channel_id, product_id in session.execute(select(ChannelProduct.channel_id, ChannelProduct.product_id)):
            restricted.setdefault(channel_id, []).append(product_id)
        self.offers = {cid: [p for p in restricted.get(cid, units) if p in units] for cid, _ in channels}
        self.channels = [(cid, 0.7 if code == "direct" else 0.3) for cid, code in channels if self.offers[cid]]
        if not self.channels:
            raise click.ClickException("no active unit-certificate product: run `flask --app wsgi demo load` first")
        self.cert_kinds = units
        self.media = [(None, 0)] + session.execute(
            select(MediaModel.id, MediaModel.price_cents).where(MediaModel.active).order_by(MediaModel.id)).all()
        self.prices = {(p.product_id, p.channel_id, p.business_type): p.amount_cents
                       for p in session.scalars(select(Price))}
        review_staff = select(Staff.id, Staff.username).where(Staff.active, Staff.role.in_(REVIEW_ROLES))
        self.reviewers = session.execute(review_staff.order_by(Staff.id)).all()
        self.station = session.scalars(select(Staff.username).where(
            Staff.active, Staff.role == StaffRole.FULFILLMENT).order_by(Staff.id)).all()
        self.reasons = session.execute(select(RejectionReason.id, RejectionReason.text_zh).where(
            RejectionReason.active).order_by(RejectionReason.position)).all()
        self.calendar = sla.load_calendar(session)
        self.policies = {bt: sla.policy_for(session, bt) for bt in {s.business_type for s in SCENARIOS}}

    def price(self, product_id: int, channel_id: int, business_type: BusinessType, media_cents: int) -> int:
        """The product's pricing rule on the prices loaded once."""
        try:
            return choose_price(self.prices, product_id, channel_id, business_type, media_cents)
        except LookupError as exc:
            raise click.ClickException(f"{exc}: add it in the admin, or run `flask --app wsgi demo load`") from exc


# --- documents ---------------------------------------------------------------------------

_LOOKS = {  # size, paper colour, format: scans are JPEG, filled-in forms PNG
    MaterialKind.BUSINESS_LICENCE: ((420, 300), (250, 244, 230), "JPEG"),
    MaterialKind.AGENT_ID_FRONT: ((342, 216), (224, 236, 246), "JPEG"),
    MaterialKind.AGENT_ID_BACK: ((342, 216), (236, 242, 250), "JPEG"),
    MaterialKind.ESEAL_SAMPLE_FORM: ((300, 420), (255, 255, 255), "PNG"),
    MaterialKind.AUTHORISATION_LETTER: ((300, 420), (252, 252, 246), "PNG"),
}


def _draw(kind: MaterialKind, variant: int) -> bytes:
    """A small picture of the document: frame, lines of 'text', a photo box or a red seal."""
    (w, h), paper, fmt = _LOOKS[kind]
    image = Image.new("RGB", (w, h), paper)
    draw = ImageDraw.Draw(image)
    draw.rectangle((5, 5, w - 6, h - 6), outline=(120, 110, 100), width=3)
    for row in range(7 - 2 * variant):
        y = 30 + row * 24 + variant * 9
        draw.line((22, y, int(w * (0.55 + 0.05 * (row % 3))), y), fill=(70, 70, 80), width=3)
    if kind == MaterialKind.AGENT_ID_FRONT:
        draw.rectangle((w - 110, 30, w - 25, 140), fill=(190, 196, 206))
    else:
        cx, cy, r = w - 70 - 20 * variant, h - 70, 40
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(205, 30, 35), width=5)
        draw.regular_polygon((cx, cy, 14), 5, fill=(205, 30, 35))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def store_images(session: Session, upload_folder: str) -> dict[MaterialKind, list[tuple[dict, str]]]:
    """Two images per kind of material, stored as uploads are; a blob already stored is reused.
    Returns the material columns each image fills, and its file name extension."""
    store = MaterialStore(upload_folder)
    images: dict[MaterialKind, list[tuple[dict, str]]] = {}
    for kind in MaterialKind:
        for variant in (0, 1):
            checked = check_image(_draw(kind, variant), max_bytes=1 << 20)
            name = session.scalar(select(Material.stored_name).where(Material.sha256 == checked.sha256).limit(1))
            try:
                reusable = name is not None and store.read(name) == checked.content
            except (OSError, ValueError):
                reusable = False
            columns = {"kind": kind, "stored_name": name if reusable else store.save(checked.content),
                       "content_type": checked.content_type, "size_bytes": len(checked.content),
                       "sha256": checked.sha256, "width": checked.width, "height": checked.height}
            images.setdefault(kind, []).append((columns, "jpg" if checked.content_type == "image/jpeg" else "png"))
    return images


# --- numbers and ids that other writers must not get too -----------------------------------

def take_order_numbers(session: Session, plans: list[Plan]) -> None:
    """Number the plans in creation order from OrderSequence, which is moved on past them."""
    days = Counter((p.created_at.astimezone(BUSINESS_TZ).date(), p.cert_kind.order_letter) for p in plans)
    following = {}
    for (day, letter), count in sorted(days.items()):
        last = take_next(session, OrderSequence, count, day=day, letter=letter)
        if last > 999_999:
            raise click.ClickException(f"more than 999,999 orders on {day}")
        following[(day, letter)] = last - count + 1
    for plan in plans:
        key = (plan.created_at.astimezone(BUSINESS_TZ).date(), plan.cert_kind.order_letter)
        plan.number = format_order_number(*key, following[key])
        following[key] += 1


def reserve_ids(session: Session, table: Table, n: int) -> list[int]:
    """Ids for n new rows that no concurrent writer can take.

    Knowing the ids up front lets one pass build every row; RETURNING ids measured slower.
    """
    if session.get_bind().dialect.name == "postgresql":
        return sorted(session.scalars(text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) "
                                           "FROM generate_series(1, :n)"), {"t": f'"{table.name}"', "n": n}))
    # SQLite has one writer: this transaction holds the lock since it took the order numbers.
    last = session.scalar(select(func.coalesce(func.max(table.c.id), 0)))
    return list(range(last + 1, last + n + 1))


# --- rows ----------------------------------------------------------------------------------


class _Entry(dict):
    """An audit row as Core inserts it, read by attribute the way `entry_hash` reads rows."""

    __slots__ = ()
    __getattr__ = dict.__getitem__


_TABLES = (Organisation.__table__, Person.__table__, Order.__table__, Material.__table__, ReviewDecision.__table__)
_IDENTITY_METHODS = tuple(IdentityMethod)
_KINDS = tuple(MaterialKind)
_DECISIONS = {S.MORE_MATERIALS_NEEDED: Decision.MORE_MATERIALS, S.APPROVED: Decision.APPROVE,
              S.REJECTED: Decision.REJECT}
_LISTED = (S.PAID, S.IN_REVIEW, S.MORE_MATERIALS_NEEDED)


class _Loader:
    """Turns plans into rows and inserts them a chunk at a time."""

    def __init__(self, session: Session, catalogue: Catalogue, images: dict, rng: random.Random, now: dt.datetime):
        self.session, self.catalogue, self.images, self.now = session, catalogue, images, now
        self.random = rng.random
        self.getrandbits = rng.getrandbits
        self.faker = Faker(rng, now.astimezone(BUSINESS_TZ).date())
        # Without review staff, decisions carry the name of the demo reviewer `flask demo load` creates.
        self.reviewers = [(i, f"staff:{u}") for i, u in catalogue.reviewers] or [(None, "staff:reviewer")]
        self.station = [f"staff:{u}" for u in catalogue.station] or ["system"]
        self.reasons = catalogue.reasons or [(None, "材料不符合要求")]
        self.media = catalogue.media[1:] or catalogue.media
        self.rows: dict[Table, list[dict]] = {table: [] for table in _TABLES}
        self.audit: list[_Entry] = []
        self.head: tuple[int, str] | None = None  # the chain's last link, once read
        self.counts: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.queues: Counter[str] = Counter()

    def add(self, plan: Plan, org_id: int, legal_rep_id: int, agent_id: int, order_id: int) -> None:
        f, chance, first, status = self.faker, self.random, plan.first, plan.status
        province, city_code, city_name = city = f.city()
        org_name, credit_code = f.organisation(city)
        org_phone = f.org_phone(city_code)
        self.rows[Organisation.__table__].append({
            "id": org_id, "name": org_name, "department": f.pick(DEPARTMENTS), "credit_code": credit_code,
            "region_province": province, "region_city": city_code, "phone": org_phone})
        identity = f.pick(_IDENTITY_METHODS)
        agent_identity = AgentIdentityMethod.BANK_CARD if chance() < 0.3 else AgentIdentityMethod.PHONE
        self._person(legal_rep_id, PersonRole.LEGAL_REP, city_code, (30, 70), email=None,
                     phone=None if identity == IdentityMethod.CORPORATE_TRANSFER and chance() < 0.4 else f.mobile(),
                     card=identity == IdentityMethod.LEGAL_REP_BANK_CARD)
        self._person(agent_id, PersonRole.AGENT, city_code, (20, 60), email=f.email(), phone=f.mobile(),
                     card=agent_identity == AgentIdentityMethod.BANK_CARD)
        bank_name, account = f.bank_account(city_name)
        address = f.address(city_name)
        media_id, media_cents = self.catalogue.media[0] if chance() < 0.1 else f.pick(self.media)
        session_hash = f"{self.getrandbits(256):064x}"
        reviewer_id, reviewer = f.pick(self.reviewers)
        claimed = S.IN_REVIEW in first and not plan.resubmitted  # re-submitted orders go back unclaimed
        queue = plan.scenario.queue if status in _LISTED else None
        self.rows[Order.__table__].append({
            "id": order_id, "number": plan.number, "business_type": plan.scenario.business_type,
            "cert_kind": plan.cert_kind, "status": status, "channel_id": plan.channel_id,
            "product_id": plan.product_id, "media_type": "card" if chance() < 0.7 else "uk",
            "media_model_id": media_id, "identity_method": identity, "agent_identity_method": agent_identity,
            "organisation_id": org_id, "legal_rep_id": legal_rep_id, "agent_id": agent_id,
            "account_name": org_name, "account_number": account, "account_number_digest": lookup_digest(account),
            "bank_name": bank_name, "bank_province": province, "bank_city": city_code,
            "invoice_taxpayer_id": credit_code,
            "invoice_address_phone": f"{address} {org_phone}" if org_phone else address,
            "invoice_bank_account": f"{bank_name} {account}" if chance() < 0.8 else None,
            "mailing_province": province, "mailing_city": city_code, "mailing_address": address,
            "price_cents": self.catalogue.price(plan.product_id, plan.channel_id, plan.scenario.business_type,
                                                media_cents),
            "applicant_session_hash": session_hash,
            "created_at": plan.created_at, "updated_at": plan.updated_at,
            "materials_completed_at": first.get(S.AWAITING_SIGNATURE), "signed_at": first.get(S.AWAITING_PAYMENT),
            "paid_at": first.get(S.PAID), "completed_at": first.get(S.COMPLETED),
            "cancelled_at": first.get(S.CANCELLED), "approved_at": first.get(S.APPROVED),
            "rejected_at": first.get(S.REJECTED), "queue": queue,
            "reviewer_id": reviewer_id if claimed else None,
            "claimed_at": first[S.IN_REVIEW] if claimed and reviewer_id else None,
            **self._clock(plan),
            "certificate_password": f.digits(8) if status == S.APPROVED else None,
        })
        applicant = "applicant:" + session_hash[:12]
        requested = f.pick(_KINDS)
        self._materials(plan, order_id, applicant, requested)
        self._history(plan, order_id, applicant, reviewer_id, reviewer, requested)
        self.statuses[str(status)] += 1
        if queue:
            self.queues[str(queue)] += 1

    def _person(self, person_id: int, role: PersonRole, city_code: str, ages: tuple[int, int], *,
                email: str | None, phone: str | None, card: bool) -> None:
        id_type, number = self.faker.id_number(city_code, *ages)
        self.rows[Person.__table__].append({
            "id": person_id, "role": role, "name": self.faker.name(), "phone": phone, "email": email,
            "id_type": id_type, "id_number": number, "id_number_digest": lookup_digest(number),
            "bank_card_number": self.faker.bank_card() if card else None})

    def _clock(self, plan: Plan) -> dict:
        """The SLA columns as the review operations leave them: started at payment, paused, resumed."""
        clock = SimpleNamespace(sla_started_at=None, sla_due_at=None, sla_limit_at=None,
                                sla_paused_target_seconds=None, sla_paused_limit_seconds=None)
        paid_at = plan.first.get(S.PAID)
        if paid_at is not None:
            calendar = self.catalogue.calendar
            sla.start_clock(clock, calendar, self.catalogue.policies[plan.scenario.business_type], paid_at)
            asked = plan.first.get(S.MORE_MATERIALS_NEEDED)
            if asked is not None:
                sla.pause_clock(clock, calendar, asked)
                if plan.resubmitted:
                    sla.resume_clock(clock, calendar, plan.updated_at)
        return vars(clock)

    def _materials(self, plan: Plan, order_id: int, applicant: str, requested: MaterialKind) -> None:
        f, rows = self.faker, self.rows[Material.__table__]
        start = plan.created_at
        span = ((plan.first.get(S.AWAITING_SIGNATURE) or self.now) - start).total_seconds()
        uploads = [(kind, start + dt.timedelta(seconds=self.random() * span), None) for kind in _KINDS]
        if plan.resubmitted:  # the old document stays on record, marked superseded
            again = plan.updated_at - dt.timedelta(seconds=30 + 570 * self.random())
            uploads = [(k, at, again if k == requested else None) for k, at, _ in uploads] + [(requested, again, None)]
        for kind, at, superseded in uploads:
            columns, extension = f.pick(self.images[kind])
            label = FILE_LABELS[kind] if self.random() < 0.5 else f"IMG_{at:%Y%m%d_%H%M%S}"
            rows.append({**columns, "order_id": order_id, "original_filename": f"{label}.{extension}",
                         "uploaded_by": applicant, "uploaded_at": at, "superseded_at": superseded})

    def _history(self, plan: Plan, order_id: int, applicant: str, reviewer_id: int | None, reviewer: str,
                 requested: MaterialKind) -> None:
        """The audit entries of every status change, and the reviewer's decisions."""
        reason_id, reason = self.faker.pick(self.reasons)
        actors = {"applicant": applicant, "system": "system", "reviewer": reviewer,
                  "station": self.faker.pick(self.station)}
        self.audit.append(_Entry(at=plan.created_at, actor=applicant, action="order.created", order_id=order_id,
                                 target=None, before=None, note=None,
                                 after={"status": str(S.AWAITING_MATERIALS), "number": plan.number}))
        before = S.AWAITING_MATERIALS
        for status, at in plan.events[1:]:
            role, note = _STEPS[status]
            if status == S.MORE_MATERIALS_NEEDED:
                note = str(requested)
            elif status == S.REJECTED:
                note = reason
            elif status == S.PAID and before == S.MORE_MATERIALS_NEEDED:
                role, note = "applicant", f"materials re-submitted: {requested}"
            self.audit.append(_Entry(at=at, actor=actors[role], action="order.status", order_id=order_id,
                                     target=None, before=_STATUS_JSON[before], after=_STATUS_JSON[status],
                                     note=note))
            if status in _DECISIONS and reviewer_id is not None:
                rejected = status == S.REJECTED and reason_id is not None
                self.rows[ReviewDecision.__table__].append({
                    "order_id": order_id, "staff_id": reviewer_id, "decision": _DECISIONS[status],
                    "checklist": None, "reason_ids": [reason_id] if rejected else None,
                    "note": note if status == S.MORE_MATERIALS_NEEDED else None, "decided_at": at})
            before = status

    def flush(self) -> None:
        """Insert the rows built so far; the audit entries join the chain here, each order's history
        in one piece, orders in creation order. They go in with their final hashes: the append-only
        trigger allows no linking afterwards."""
        if self.head is None:
            self.head = self.session.execute(select(AuditChainHead.seq, AuditChainHead.entry_hash)
                                             .where(AuditChainHead.id == 1).with_for_update()).one()
        seq, prev = self.head
        for entry in self.audit:
            seq += 1
            entry["seq"], entry["prev_hash"] = seq, prev
            prev = entry["entry_hash"] = entry_hash(entry, seq, prev)
        self.head = (seq, prev)
        for table, rows in (*self.rows.items(), (AuditEntry.__table__, self.audit)):
            self.counts[table.name] += len(rows)
            _insert(self.session, table, rows)
            rows.clear()

    def close_chain(self) -> None:
        """Move the chain head past the entries added."""
        if self.head is not None:
            seq, prev = self.head
            self.session.execute(update(AuditChainHead).where(AuditChainHead.id == 1)
                                 .values(seq=seq, entry_hash=prev))


@contextmanager
def _bulk_mode(session: Session) -> Iterator[None]:
    """The collector off: it would rescan the millions of live row dicts again and again.
    On SQLite a page cache that holds the indexes with random keys (digests, phones, order ids)."""
    collecting = gc.isenabled()
    gc.disable()
    connection = session.connection()
    on_sqlite = connection.dialect.name == "sqlite"
    if on_sqlite:
        cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
        connection.exec_driver_sql("PRAGMA cache_size = -262144")  # KiB: 256 MiB
    try:
        yield
    finally:
        if on_sqlite:
            connection.exec_driver_sql(f"PRAGMA cache_size = {int(cache_size)}")
        if collecting:
            gc.enable()


def _insert(session: Session, table: Table, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(table), rows[start:start + CHUNK])


def _plans(rng: random.Random, catalogue: Catalogue, n: int, now: dt.datetime) -> list[Plan]:
    scenarios = [s for s, count in zip(SCENARIOS, _scenario_counts(n), strict=True) for _ in range(count)]
    rng.shuffle(scenarios)
    channel_ids, weights = zip(*catalogue.channels, strict=True)
    plans = []
    for scenario in scenarios:
        path = scenario.path
        if catalogue.reviewers and rng.random() < scenario.claimed:
            path = (*path, S.IN_REVIEW)
        channel_id = rng.choices(channel_ids, weights)[0]
        product_id = rng.choice(catalogue.offers[channel_id])
        plans.append(Plan(scenario, _timeline(rng, scenario, path, now), channel_id, product_id,
                          catalogue.cert_kinds[product_id]))
    plans.sort(key=lambda p: p.created_at)
    return plans


def load_applications(session: Session, n: int, *, now: dt.datetime, upload_folder: str,
                      seed: int = 2026) -> dict[str, dict[str, int]]:
    """Add n applications as of `now`; returns the rows added per table, and orders per status and queue.

    Writes in the caller's transaction and does not commit. The same seed gives the same applications
    on the same database.
    """
    now = now.astimezone(dt.UTC)
    rng = random.Random(seed)
    catalogue = Catalogue(session)
    with _bulk_mode(session):
        plans = _plans(rng, catalogue, n, now)
        take_order_numbers(session, plans)  # the first write: reserve_ids relies on the lock it takes
        org_ids = reserve_ids(session, Organisation.__table__, n)
        person_ids = reserve_ids(session, Person.__table__, 2 * n)
        order_ids = reserve_ids(session, Order.__table__, n)
        loader = _Loader(session, catalogue, store_images(session, upload_folder), rng, now)
        for i, plan in enumerate(plans):
            loader.add(plan, org_ids[i], person_ids[2 * i], person_ids[2 * i + 1], order_ids[i])
            if (i + 1) % CHUNK == 0:
                loader.flush()
        loader.flush()
        loader.close_chain()
    return {"tables": dict(loader.counts), "statuses": dict(loader.statuses), "queues": dict(loader.queues)}


@click.command("demo-data")
@click.option("--applications", default=1000, show_default=True, type=click.IntRange(min=1),
              help="How many applications to add.")
@click.option("--seed", default=2026, show_default=True, help="The same seed gives the same applications.")
@with_appcontext
def demo_data_command(applications: int, seed: int) -> None:
    """Add realistic demo applications with documents and audit trail (never in production)."""
    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("demo data does not belong in a production database")
    started = time.perf_counter()
    counts = load_applications(db.session, applications, now=utcnow(),
                               upload_folder=current_app.config["UPLOAD_FOLDER"], seed=seed)
    db.session.commit()
    click.echo(f"added {applications} applications in {time.perf_counter() - started:.1f} s")
    for group, numbers in counts.items():
        click.echo(f"{group + ':':10}" + ", ".join(f"{name} {count}" for name, count in sorted(numbers.items())))
