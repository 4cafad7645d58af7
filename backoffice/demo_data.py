"""Demo applications in bulk: `flask --app wsgi demo-data --applications N`.

Each unit application gets its organisation, legal representative and agent, five materials
(a few tiny images written once and shared), each personal one (demo_plans.PERSONAL_SHARE of them)
its holder and the two sides of their ID card, a status somewhere along the whole flow with
matching timestamps, queue and working-day SLA clock, and its status history in the audit
hash chain. Rows go in as Core bulk inserts: an ORM object per row takes minutes for
100,000 applications. Where each application stands comes from demo_plans, its documents from
demo_documents, names and numbers from demo_people, the password cards and parcels of the keys
programmed and shipped from demo_shipping, the stations' jobs and keys from demo_station, the catalogue,
order numbers and ids from demo_reference, the review screen's warnings from demo_risks; this module
turns them into rows. The command then has demo_billing give the paid orders their payments, invoices
and refunds.
"""
from __future__ import annotations

import datetime as dt
import gc
import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session

from backoffice import demo_billing
from backoffice.demo_certificates import Certificates
from backoffice.demo_documents import FILE_LABELS, store_images
from backoffice.demo_people import DEPARTMENTS, Faker
from backoffice.demo_plans import (
    PERSONAL_SHARE,
    SCENARIOS,
    STEPS,
    Plan,
    S,
    link_after_sale,
    scenario_counts,
    timeline,
)
from backoffice.demo_reference import Catalogue, reserve_ids, take_order_numbers
from backoffice.demo_risks import risk_examples
from backoffice.demo_shipping import Parcels, take_card_numbers
from backoffice.demo_station import Job, Jobs
from billing.services import current_services
from documents.storage import DocumentStore
from issuance.authority import Keyring
from issuance.settings import CaSettings
from models import (
    AgentIdentityMethod,
    AuditEntry,
    BusinessType,
    Certificate,
    Decision,
    IdentityMethod,
    Material,
    MaterialKind,
    Order,
    OrderStatus,
    Organisation,
    Person,
    PersonRole,
    ProgrammingJob,
    ProgrammingStep,
    ReviewDecision,
    ReviewQueue,
    Shipment,
    Token,
)
from models.audit_chain import chained, locked_head, move_head
from models.base import utcnow
from models.batches import batches
from models.business import APPLICATION_MATERIALS, PERSONAL_ID, PERSONAL_MATERIALS, required_materials
from models.business_time import BUSINESS_TZ
from models.order_state import CertKind
from models.sealed import lookup_digest, subject_serial
from review import sla
from web.commands import in_unit_of_work
from web.extensions import db
from web.services import find_service

CHUNK = 5000  # applications per round of inserts, and rows per executemany
_STATUS_JSON = {status: {"status": str(status)} for status in OrderStatus}  # shared: never mutated


# --- rows ----------------------------------------------------------------------------------


class _Entry(dict):
    """An audit row as Core inserts it, read by attribute the way `entry_hash` reads rows."""

    __slots__ = ()
    __getattr__ = dict.__getitem__


_TABLES = (Organisation.__table__, Person.__table__, Order.__table__, Certificate.__table__, Material.__table__,
           ReviewDecision.__table__, Shipment.__table__, Token.__table__, ProgrammingJob.__table__,
           ProgrammingStep.__table__)
_IDENTITY_METHODS = tuple(IdentityMethod)
_KINDS = APPLICATION_MATERIALS  # the documents a reviewer may ask for again (of a person: PERSONAL_ID)
# What an after-sale order copies from the earlier order it continues (the public side does the same).
_CONTINUED = ("identity_method", "agent_identity_method", "media_type", "media_model_id", "account_number",
              "account_number_digest", "bank_name", "bank_province", "bank_city", "invoice_taxpayer_id",
              "invoice_address_phone", "invoice_bank_account", "mailing_province", "mailing_city", "mailing_address")
_ORGANISATION = ("name", "department", "credit_code", "region_province", "region_city", "phone")
# A unit order's columns of its organisation: a personal order has none of them.
_UNIT_ONLY = ("identity_method", "organisation_id", "legal_rep_id", "account_name", "account_number",
              "account_number_digest", "bank_name", "bank_province", "bank_city", "invoice_taxpayer_id",
              "invoice_address_phone", "invoice_bank_account")
_PERSON = ("name", "phone", "email", "id_type", "id_number", "id_number_digest", "bank_card_number",
           "subject_serial")
_DECISIONS = {S.MORE_MATERIALS_NEEDED: Decision.MORE_MATERIALS, S.APPROVED: Decision.APPROVE,
              S.REJECTED: Decision.REJECT}
_LISTED = (S.PAID, S.IN_REVIEW, S.MORE_MATERIALS_NEEDED)


class _Loader:
    """Turns plans into rows and inserts them a chunk at a time."""

    def __init__(self, session: Session, catalogue: Catalogue, images: dict, rng: random.Random, now: dt.datetime,
                 parcels: Parcels, certificates: Certificates, jobs: Jobs, continued: set[str]):
        self.session, self.catalogue, self.images, self.now, self.parcels = session, catalogue, images, now, parcels
        self.certificates, self.jobs = certificates, jobs
        # The rows of the orders an after-sale order continues, by number, until it is added.
        self.continued, self.kept = continued, {}
        self.links: list[dict] = []  # after-sale orders and the certificate they name, set once all are in
        self.random = rng.random
        self.getrandbits = rng.getrandbits
        self.faker = Faker(rng, now.astimezone(BUSINESS_TZ).date())
        # Without review staff, decisions carry the name of the demo reviewer `flask demo load` creates.
        self.reviewers = [(i, f"staff:{u}") for i, u in catalogue.reviewers] or [(None, "staff:reviewer")]
        # The station staff member who programs and ships an order's key: (id, actor).
        self.station = [(i, f"staff:{u}") for i, u in catalogue.station] or [(catalogue.any_staff, "system")]
        self.reasons = catalogue.reasons or [(None, "材料不符合要求")]
        self.media = catalogue.media[1:] or catalogue.media
        self.rows: dict[Table, list[dict]] = {table: [] for table in _TABLES}
        self.audit: list[_Entry] = []
        self.head: tuple[int, str] | None = None  # the chain's last link, once read
        self.counts: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.queues: Counter[str] = Counter()

    def add(self, plan: Plan, org_id: int | None, legal_rep_id: int | None, agent_id: int, order_id: int,
            card: str | None = None, certificate_id: int | None = None) -> None:
        """The rows of one application (a personal one has no organisation or legal representative: its
        holder is in the agent's place, agent_id); `card` is its password card number once its key was
        programmed, `certificate_id` the id its certificate takes then (with the station's job)."""
        f, chance, first, status = self.faker, self.random, plan.first, plan.status
        personal = plan.cert_kind is CertKind.PERSONAL
        province, city_code, city_name = city = f.city()
        agent_identity = AgentIdentityMethod.BANK_CARD if chance() < 0.3 else AgentIdentityMethod.PHONE
        if personal:
            organisation = legal_rep = None
            agent = self._person(agent_id, PersonRole.HOLDER, city_code, (18, 70), email=f.email(), phone=f.mobile(),
                                 card=agent_identity == AgentIdentityMethod.BANK_CARD)
            address = f.address(city_name)
            unit_columns = dict.fromkeys(_UNIT_ONLY)
        else:
            organisation, legal_rep, agent, address, unit_columns = self._unit(city, org_id, legal_rep_id, agent_id,
                                                                                agent_identity)
        media_id, media_cents = self.catalogue.media[0] if chance() < 0.1 else f.pick(self.media)
        session_hash = f"{self.getrandbits(256):064x}"
        reviewer_id, reviewer = f.pick(self.reviewers)
        claimed = S.IN_REVIEW in first and not plan.resubmitted  # re-submitted orders go back unclaimed
        # A personal order waits in the personal queue (review.operations.enqueue_paid_order), until its
        # materials are re-submitted like anyone's.
        queue = (ReviewQueue.PERSONAL if personal and not plan.resubmitted else plan.scenario.queue) \
            if status in _LISTED else None
        shipped_at = first.get(S.SHIPPED)
        order = {
            "id": order_id, "number": plan.number, "business_type": plan.scenario.business_type,
            "cert_kind": plan.cert_kind, "status": status, "channel_id": plan.channel_id,
            "product_id": plan.product_id, "media_type": "card" if chance() < 0.7 else "uk",
            "media_model_id": media_id, "agent_identity_method": agent_identity, "agent_id": agent_id, **unit_columns,
            "mailing_province": province, "mailing_city": city_code, "mailing_address": address,
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
            # Destroyed once programmed: the card is numbered then, and printed before the key ships.
            "password_card_number": card,
            "password_card_printed_at": self.parcels.card_printed_at(first[S.PROGRAMMED], shipped_at)
            if card and shipped_at else None,
            # An after-sale order's (_continue); the certificate it names follows once every one is in.
            "previous_order_id": None, "revocation_reason": None,
        }
        media_cents = self._continue(plan, order, organisation, legal_rep, agent) if plan.previous else media_cents
        order["price_cents"] = self.catalogue.price(plan.product_id, plan.channel_id, plan.scenario.business_type,
                                                    media_cents)
        self.rows[Order.__table__].append(order)
        job = None
        if certificate_id is not None:
            job = self.jobs.plan(plan)
            certificate = self.certificates.row(plan, order, organisation or agent, certificate_id,
                                                job_id=job.signing_job_id, media_serial=job.serial,
                                                issued_at=job.issued_at)
            if certificate is not None:
                self.rows[Certificate.__table__].append(certificate)
            else:
                certificate_id = None
            if not self.jobs.done(job, certificate, card):
                job = None
        if plan.number in self.continued:
            self.kept[plan.number] = {"order": order, "organisation": organisation, "legal_rep": legal_rep,
                                      "agent": agent, "city": city, "media_cents": media_cents,
                                      "certificate_id": certificate_id}
        applicant = "applicant:" + session_hash[:12]
        requested = f.pick(PERSONAL_ID if personal else _KINDS)
        self._materials(plan, order_id, applicant, requested)
        station_id = self._history(plan, order_id, applicant, reviewer_id, reviewer, requested, job)
        if job is not None:
            token, programmed, steps = self.jobs.rows(job, plan, order, station_id)
            self.rows[Token.__table__].append(token)
            self.rows[ProgrammingJob.__table__].append(programmed)
            self.rows[ProgrammingStep.__table__].extend(steps)
        if shipped_at is not None:
            parcel = self.parcels.row(plan, order, station_id, agent["name"], agent["phone"])
            if parcel is not None:
                self.rows[Shipment.__table__].append(parcel)
        self.statuses[str(status)] += 1
        if queue:
            self.queues[str(queue)] += 1

    def _unit(self, city: tuple[str, str, str], org_id: int, legal_rep_id: int, agent_id: int,
              agent_identity: AgentIdentityMethod) -> tuple[dict, dict, dict, str, dict]:
        """A unit application's organisation, legal representative and agent rows, its mailing address, and
        its order's columns of the organisation (identity method, account, invoice data)."""
        f, chance = self.faker, self.random
        province, city_code, city_name = city
        org_name, credit_code = f.organisation(city)
        org_phone = f.org_phone(city_code)
        organisation = {
            "id": org_id, "name": org_name, "department": f.pick(DEPARTMENTS), "credit_code": credit_code,
            "region_province": province, "region_city": city_code, "phone": org_phone}
        self.rows[Organisation.__table__].append(organisation)
        identity = f.pick(_IDENTITY_METHODS)
        legal_rep = self._person(
            legal_rep_id, PersonRole.LEGAL_REP, city_code, (30, 70), email=None,
            phone=None if identity == IdentityMethod.CORPORATE_TRANSFER and chance() < 0.4 else f.mobile(),
            card=identity == IdentityMethod.LEGAL_REP_BANK_CARD)
        agent = self._person(agent_id, PersonRole.AGENT, city_code, (20, 60), email=f.email(), phone=f.mobile(),
                             card=agent_identity == AgentIdentityMethod.BANK_CARD)
        bank_name, account = f.bank_account(city_name)
        address = f.address(city_name)
        columns = {
            "identity_method": identity, "organisation_id": org_id, "legal_rep_id": legal_rep_id,
            "account_name": org_name, "account_number": account, "account_number_digest": lookup_digest(account),
            "bank_name": bank_name, "bank_province": province, "bank_city": city_code,
            "invoice_taxpayer_id": credit_code,
            "invoice_address_phone": f"{address} {org_phone}" if org_phone else address,
            "invoice_bank_account": f"{bank_name} {account}" if chance() < 0.8 else None}
        return organisation, legal_rep, agent, address, columns

    def _continue(self, plan: Plan, order: dict, organisation: dict | None, legal_rep: dict | None,
                  agent: dict) -> int:
        """An after-sale order copies the earlier order's organisation, people, bank, invoice and mailing
        data and names its certificate; an information change alters the name, the legal representative
        or their phone (of a person: their name, which their certificate names). Returns the earlier
        order's key price (the price is worked out on it)."""
        earlier = self.kept.pop(plan.previous.number)
        for column in _CONTINUED:
            order[column] = earlier["order"][column]
        order["previous_order_id"] = earlier["order"]["id"]
        order["revocation_reason"] = int(plan.reason) if plan.reason is not None else None
        if earlier["certificate_id"] is not None:
            self.links.append({"linked_order": order["id"], "linked_certificate": earlier["certificate_id"]})
        if organisation is None:  # a personal order: the same holder (the same ID)
            agent.update({column: earlier["agent"][column] for column in _PERSON})
            if plan.scenario.business_type == BusinessType.INFO_CHANGE:
                agent["name"] = self.faker.name()
            return earlier["media_cents"]
        organisation.update({column: earlier["organisation"][column] for column in _ORGANISATION})
        agent.update({column: earlier["agent"][column] for column in _PERSON})
        kept_rep = {column: earlier["legal_rep"][column] for column in _PERSON}
        if plan.scenario.business_type == BusinessType.INFO_CHANGE:
            change = self.random()
            if change < 0.4:  # a new name (the same city and credit code)
                organisation["name"] = self.faker.organisation(earlier["city"])[0]
            elif change < 0.8:  # a new legal representative, identified as the one before
                before = earlier["legal_rep"]  # the identity checks ask the same of the new one
                kept_rep = {"phone": self.faker.mobile() if before["phone"] else None,
                            "bank_card_number": self.faker.bank_card() if before["bank_card_number"] else None}
            else:
                kept_rep["phone"] = self.faker.mobile()
        legal_rep.update(kept_rep)
        order["account_name"] = organisation["name"]
        return earlier["media_cents"]

    def _person(self, person_id: int, role: PersonRole, city_code: str, ages: tuple[int, int], *,
                email: str | None, phone: str | None, card: bool) -> dict:
        id_type, number = self.faker.id_number(city_code, *ages)
        row = {"id": person_id, "role": role, "name": self.faker.name(), "phone": phone, "email": email,
               "id_type": id_type, "id_number": number, "id_number_digest": lookup_digest(number),
               "bank_card_number": self.faker.bank_card() if card else None,
               "subject_serial": subject_serial(str(id_type), number)}  # as models.Person computes it
        self.rows[Person.__table__].append(row)
        return row

    def _clock(self, plan: Plan) -> dict:
        """The SLA columns as the review operations leave them: started at payment, paused, resumed."""
        clock = SimpleNamespace(sla_started_at=None, sla_due_at=None, sla_limit_at=None,
                                sla_paused_target_seconds=None, sla_paused_limit_seconds=None)
        paid_at = plan.first.get(S.PAID)
        if paid_at is not None:
            calendar = self.catalogue.calendar
            sla.start_clock(clock, calendar, self.catalogue.policies[(plan.scenario.business_type, plan.cert_kind)],
                            paid_at)
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
        kinds = (PERSONAL_MATERIALS[plan.scenario.business_type] if plan.cert_kind is CertKind.PERSONAL
                 else required_materials(plan.scenario.business_type))
        uploads = [(kind, start + dt.timedelta(seconds=self.random() * span), None) for kind in kinds]
        if plan.resubmitted:  # the old document stays on record, marked superseded
            again = plan.updated_at - dt.timedelta(seconds=30 + 570 * self.random())
            uploads = [(k, at, again if k == requested else None) for k, at, _ in uploads] + [(requested, again, None)]
        for kind, at, superseded in uploads:
            columns, extension = f.pick(self.images[kind])
            label = FILE_LABELS[kind] if self.random() < 0.5 else f"IMG_{at:%Y%m%d_%H%M%S}"
            rows.append({**columns, "order_id": order_id, "original_filename": f"{label}.{extension}",
                         "uploaded_by": applicant, "uploaded_at": at, "superseded_at": superseded})

    def _history(self, plan: Plan, order_id: int, applicant: str, reviewer_id: int | None, reviewer: str,
                 requested: MaterialKind, job: Job | None) -> int | None:
        """The audit entries of every status change, with those of the station's `job` and its key, and
        the reviewer's decisions; returns the id of the station staff member who programs and ships the key."""
        reason_id, reason = self.faker.pick(self.reasons)
        station_id, station = self.faker.pick(self.station)
        actors = {"applicant": applicant, "system": "system", "reviewer": reviewer, "station": station}
        self.audit.append(_Entry(at=plan.created_at, actor=applicant, action="order.created", order_id=order_id,
                                 target=None, before=None, note=None,
                                 after={"status": str(S.AWAITING_MATERIALS), "number": plan.number}))
        before = S.AWAITING_MATERIALS
        for status, at in plan.events[1:]:
            role, note = STEPS[status]
            if status == S.MORE_MATERIALS_NEEDED:
                note = str(requested)
            elif status == S.REJECTED:
                note = reason
            elif status == S.PAID and before == S.MORE_MATERIALS_NEEDED:
                role, note = "applicant", f"materials re-submitted: {requested}"
            entry = dict(at=at, actor=actors[role], action="order.status", order_id=order_id, target=None,
                         before=_STATUS_JSON[before], after=_STATUS_JSON[status], note=note)
            self.audit.extend(map(_Entry, self.jobs.around(job, status, entry) if job else [entry]))
            if status in _DECISIONS and reviewer_id is not None:
                rejected = status == S.REJECTED and reason_id is not None
                self.rows[ReviewDecision.__table__].append({
                    "order_id": order_id, "staff_id": reviewer_id, "decision": _DECISIONS[status],
                    "checklist": None, "reason_ids": [reason_id] if rejected else None,
                    "note": note if status == S.MORE_MATERIALS_NEEDED else None, "decided_at": at,
                    "working_seconds": self._working_seconds(plan, at)})
            before = status
        return station_id

    def _working_seconds(self, plan: Plan, decided: dt.datetime) -> int:
        """What the decision stores, as review.operations does: the working time from payment, the wait
        for materials left out (the clock's pause in _clock)."""
        asked = plan.first.get(S.MORE_MATERIALS_NEEDED)
        pauses = [(asked, plan.updated_at if plan.resubmitted else None)] if asked is not None else []
        return sla.working_time_used(self.catalogue.calendar, plan.first[S.PAID], decided, pauses)

    def flush(self) -> None:
        """Insert the rows built so far; the audit entries join the chain here, each order's history
        in one piece, orders in creation order. They go in with their final hashes: the append-only
        trigger allows no linking afterwards."""
        if self.head is None:
            self.head = locked_head(self.session)
        for entry, seq, prev, digest in chained(self.audit, *self.head):
            entry["seq"], entry["prev_hash"], entry["entry_hash"] = seq, prev, digest
            self.head = (seq, digest)
        for table, rows in (*self.rows.items(), (AuditEntry.__table__, self.audit)):
            self.counts[table.name] += len(rows)
            _insert(self.session, table, rows)
            rows.clear()

    def close_chain(self) -> None:
        """Move the chain head past the entries added."""
        if self.head is not None:
            move_head(self.session, *self.head)

    def link_certificates(self) -> None:
        """The after-sale orders name their earlier order's certificate: set once every certificate is
        in, since a certificate names its order too."""
        if self.links:
            self.session.execute(update(Order.__table__).where(Order.__table__.c.id == bindparam("linked_order"))
                                 .values(certificate_id=bindparam("linked_certificate")), self.links)


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
    for chunk in batches(rows, CHUNK):
        session.execute(insert(table), chunk)


def _plans(rng: random.Random, catalogue: Catalogue, n: int, now: dt.datetime,
           kinds: random.Random) -> list[Plan]:
    """The plans, PERSONAL_SHARE of them personal (drawn from `kinds`) where a channel sells a personal product."""
    scenarios = [s for s, count in zip(SCENARIOS, scenario_counts(n), strict=True) for _ in range(count)]
    rng.shuffle(scenarios)
    channels = {kind: tuple(zip(*offered, strict=True)) for kind, offered in catalogue.channels.items() if offered}
    plans = []
    for scenario in scenarios:
        path = scenario.path
        if catalogue.reviewers and rng.random() < scenario.claimed:
            path = (*path, S.IN_REVIEW)
        kind = CertKind.PERSONAL if CertKind.PERSONAL in channels and kinds.random() < PERSONAL_SHARE \
            else CertKind.UNIT
        channel_ids, weights = channels[kind]
        channel_id = rng.choices(channel_ids, weights)[0]
        product_id = rng.choice(catalogue.offers[(channel_id, kind)])
        plans.append(Plan(scenario, timeline(rng, scenario, path, now), channel_id, product_id, kind))
    plans.sort(key=lambda p: p.created_at)
    return plans


def load_applications(session: Session, n: int, *, now: dt.datetime, store: DocumentStore,
                      keyring: Keyring | None = None, seed: int = 2026) -> dict[str, dict[str, int]]:
    """Add n applications as of `now`; returns the rows added per table, and orders per status and queue.
    The keys programmed get their certificates from the issuing CA in use, signed with its key from
    `keyring` (none without one: the load says so), and their done programming jobs at the demo
    stations (registered by an admin if missing), held by the station staff.

    Writes in the caller's transaction and does not commit. The same seed gives the same applications
    on the same database.
    """
    now = now.astimezone(dt.UTC)
    rng = random.Random(seed)
    catalogue = Catalogue(session)
    with _bulk_mode(session):
        plans = _plans(rng, catalogue, n, now, random.Random(f"{seed}/personal"))
        link_after_sale(random.Random(f"{seed}/after-sale"), plans)
        take_order_numbers(session, plans)  # the first write: reserve_ids relies on the lock it takes
        cards = take_card_numbers(session, plans)
        units = sum(plan.cert_kind is CertKind.UNIT for plan in plans)  # of an organisation, with two people
        org_ids = iter(reserve_ids(session, Organisation.__table__, units))
        person_ids = iter(reserve_ids(session, Person.__table__, n + units))
        order_ids = reserve_ids(session, Order.__table__, n)
        programmed = [i for i, plan in enumerate(plans) if S.PROGRAMMED in plan.first]
        certificate_ids = dict(zip(programmed, reserve_ids(session, Certificate.__table__, len(programmed)),
                                   strict=True))
        # Parcels and the station's jobs draw from their own generators: the other rows stay as they were
        # without them.
        parcels = Parcels(session, random.Random(f"{seed}/parcels"), catalogue.any_staff is not None)
        certificates = Certificates(session, keyring)
        job_ids, token_ids = (reserve_ids(session, table, len(programmed))
                              for table in (ProgrammingJob.__table__, Token.__table__))
        jobs = Jobs(session, random.Random(f"{seed}/station"), job_ids, token_ids, bool(catalogue.station))
        continued = {plan.previous.number for plan in plans if plan.previous}
        loader = _Loader(session, catalogue, store_images(session, store), rng, now, parcels, certificates, jobs,
                         continued)
        for i, plan in enumerate(plans):
            unit = plan.cert_kind is CertKind.UNIT
            org_id, legal_rep_id = (next(org_ids), next(person_ids)) if unit else (None, None)
            loader.add(plan, org_id, legal_rep_id, next(person_ids), order_ids[i], cards[i], certificate_ids.get(i))
            if (i + 1) % CHUNK == 0:
                loader.flush()
        loader.flush()
        loader.close_chain()
        loader.link_certificates()
        jobs.close()
    counts = {"tables": dict(loader.counts), "statuses": dict(loader.statuses), "queues": dict(loader.queues)}
    counts["risks"] = risk_examples(session, order_ids)
    skipped = {f"parcels ({parcels.missing})": parcels.skipped,
               f"certificates ({certificates.missing or 'no subject or profile'})": certificates.skipped,
               f"programming jobs ({jobs.missing or 'no certificate'})": jobs.skipped}
    if any(skipped.values()):
        counts["skipped"] = {what: count for what, count in skipped.items() if count}
    return counts


@click.command("demo-data")
@click.option("--applications", default=1000, show_default=True, type=click.IntRange(min=1),
              help="How many applications to add.")
@click.option("--seed", default=2026, show_default=True, help="The same seed gives the same applications.")
@click.option("--billing/--no-billing", "with_billing", default=True, show_default=True,
              help="Give the paid orders their payments, invoices and refunds (sandboxes only; about 0.1 s "
                   "an order, so leave it out of big loads).")
@with_appcontext
@in_unit_of_work
def demo_data_command(applications: int, seed: int, with_billing: bool) -> None:
    """Add realistic demo applications with documents and audit trail (never in production)."""
    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("demo data does not belong in a production database")
    services = current_services() if with_billing else None
    if services is not None:
        try:
            demo_billing.check_services(services)
        except ValueError as exc:
            raise click.ClickException(f"{exc}, or add --no-billing") from exc
    started = time.perf_counter()
    now = utcnow()
    counts = load_applications(db.session, applications, now=now, store=find_service(DocumentStore),
                               keyring=Keyring(CaSettings.from_config(current_app.config)), seed=seed)
    if services is not None:
        click.echo("paying and invoicing the orders past payment through the sandboxes (about 0.1 s each)")
        counts["billing"] = demo_billing.bill_demo_orders(db.session, services, now=now)
    click.echo(f"added {applications} applications in {time.perf_counter() - started:.1f} s")
    for group, numbers in counts.items():
        click.echo(f"{group + ':':10}" + ", ".join(f"{name} {count}" for name, count in sorted(numbers.items())))
