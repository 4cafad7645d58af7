"""Demo applications in bulk: what they look like, and that they fit the rest of the system,
the finance side included."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import re
from collections import Counter
from types import SimpleNamespace

import pytest
import time_machine
from cryptography import x509 as cx509
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import selectinload

from backoffice import demo_data, demo_plans
from backoffice.demo_billing import PAST_PAYMENT, REFUND_CONFIRMED_AFTER, bill_demo_orders
from backoffice.demo_data import demo_data_command, load_applications
from backoffice.demo_plans import Scenario
from backoffice.demo_shipping import take_card_numbers
from backoffice.demo_station import STATIONS
from billing.payments.interfaces import TradeState
from billing.reconciliation import reconcile_with_provider
from documents import regions
from finance import queries as finance_queries
from fulfillment.shipping import address_of
from issuance import authority, ceremony
from issuance.authority import Keyring
from issuance.settings import CaSettings
from models import (
    REVIEW_ROLES,
    AuditEntry,
    BusinessType,
    Certificate,
    CertificateStatus,
    CertKind,
    Courier,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    JobStatus,
    Material,
    MaterialKind,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    PersonRole,
    ProgrammingJob,
    RefundReason,
    RefundStatus,
    ReminderStage,
    ReviewDecision,
    ReviewQueue,
    RevocationReason,
    Shipment,
    ShipmentStatus,
    Staff,
    StaffRole,
    Station,
    TokenState,
    next_order_number,
    next_password_card_number,
)
from models.audit_chain import seal_head, verify
from models.business import MATERIALS, PERSONAL_MATERIALS
from models.business_time import BUSINESS_TZ
from models.order_state import check_transition
from models.renewal import days_left
from models.sealed import lookup_digest, subject_serial
from models.token_state import check_token_transition
from protocol.station import STEPS, Step
from public import validators
from public.renewal_reminders import certificates_due, stage_due
from reports import dashboard
from review.dual_control import changed_identity
from review.sla import load_calendar, policy_for, working_time_used
from tests.conftest import PRODUCTION, add_staff
from tests.factories import folder_store

NOW = dt.datetime(2026, 11, 25, 6, 30, tzinfo=dt.UTC)  # a Wednesday, 14:30 in Beijing
S = OrderStatus


@pytest.fixture
def staff(db_session):
    return SimpleNamespace(reviewers=[add_staff(db_session, StaffRole.REVIEWER),
                                      add_staff(db_session, StaffRole.SENIOR_REVIEWER)],
                           station=add_staff(db_session, StaffRole.FULFILLMENT),
                           finance=add_staff(db_session, StaffRole.FINANCE))


@pytest.fixture
def keyring(db_session, staff, tmp_path) -> Keyring:
    """An issuing CA of key files, as make run's ceremony makes it, and the keyring that opens its key."""
    settings = CaSettings(signer="keyfile", key_folder=tmp_path / "ca", pkcs11_module="", token_label="", token_pin="",
                          public_url="http://ca.example.test", crl_next_update=dt.timedelta(hours=24),
                          organisation="Demo CA")
    settings.key_folder.mkdir()
    ceremony.hold_ceremony(db_session, settings, [staff.reviewers[1], add_staff(db_session, StaffRole.ADMIN)])
    return Keyring(settings)


def load(db_session, tmp_path, n: int, seed: int = 7, keyring: Keyring | None = None) -> SimpleNamespace:
    """Load n applications; `orders` selects what this load added (the database may hold others)."""
    before = db_session.scalar(select(func.coalesce(func.max(Order.id), 0)))
    counts = load_applications(db_session, n, now=NOW, store=folder_store(tmp_path), keyring=keyring, seed=seed)
    ours = Order.id > before
    orders = db_session.scalars(select(Order).where(ours).order_by(Order.id).options(
        selectinload(Order.organisation), selectinload(Order.legal_rep), selectinload(Order.agent))).all()
    return SimpleNamespace(counts=counts, ours=ours, orders=orders)


def documents_of(order: Order) -> tuple[MaterialKind, ...]:
    """The documents a demo order of its business type and kind has (a unit's, or a person's ID card)."""
    return (PERSONAL_MATERIALS if order.personal else MATERIALS)[order.business_type]


def chain_problems(db_session, key: bytes) -> list:
    return list(verify(db_session, key, now=NOW))


@pytest.fixture
def loaded(db_session, staff, tmp_path, keyring):
    made = load(db_session, tmp_path, 300, keyring=keyring)
    db_session.commit()  # as the command's unit of work does: the staff's own entries are linked then
    return made


def test_counts_and_status_mix(db_session, loaded):
    orders, tables = loaded.orders, loaded.counts["tables"]
    resubmitted = sum(o.queue == ReviewQueue.RESUBMITTED for o in orders)
    personal = sum(o.personal for o in orders)
    assert len(orders) == 300 and 0.06 * 300 <= personal <= 0.15 * 300
    # A unit order has its organisation, legal representative and agent; a personal one its holder alone.
    assert tables["organisation"] == 300 - personal and tables["person"] == 2 * (300 - personal) + personal
    assert tables["order"] == 300
    # Each order has the documents of its business type; a re-submitted document keeps its predecessor.
    assert tables["material"] == sum(len(documents_of(o)) for o in orders) + resubmitted
    assert tables["certificate"] == sum(o.status is S.COMPLETED for o in orders)
    assert tables["shipment"] == sum(o.status in (S.SHIPPED, S.COMPLETED) for o in orders) > 0
    assert "skipped" not in loaded.counts
    assert tables["audit_entry"] == db_session.scalar(select(func.count()).where(AuditEntry.order_id.in_(
        [o.id for o in orders])))
    statuses = {str(s): n for s, n in db_session.execute(
        select(Order.status, func.count()).where(loaded.ours).group_by(Order.status))}
    assert statuses == loaded.counts["statuses"]
    assert set(statuses) == {str(s) for s in OrderStatus} - {"programming", "programmed", "shipped"}
    new_queue = sum(o.queue == ReviewQueue.NEW and o.status in (S.PAID, S.IN_REVIEW) for o in orders)
    assert new_queue >= 0.4 * len(orders)
    assert {o.queue for o in orders} == set(ReviewQueue) | {None}
    for order in orders:
        if order.queue in (ReviewQueue.REPLACEMENT, ReviewQueue.INFO_CHANGE, ReviewQueue.REVOCATION):
            assert order.business_type == BusinessType(str(order.queue))
        assert (order.queue is not None) == (order.status in (S.PAID, S.IN_REVIEW, S.MORE_MATERIALS_NEEDED))


def test_claimed_orders_are_held_by_reviewers(loaded, staff):
    reviewer_ids = {s.id for s in staff.reviewers}
    in_review = [o for o in loaded.orders if o.status == S.IN_REVIEW]
    assert in_review
    for order in in_review:
        assert order.reviewer_id in reviewer_ids and order.paid_at <= order.claimed_at <= NOW
    assert all(o.reviewer_id is None for o in loaded.orders if o.status == S.PAID)


def test_without_reviewers_nothing_is_claimed(db_session, tmp_path):
    reviewers = db_session.scalar(select(func.count()).where(Staff.role.in_(REVIEW_ROLES), Staff.active))
    if reviewers:
        pytest.skip("the shared test database already holds reviewer accounts")
    orders = load(db_session, tmp_path, 50).orders
    assert not any(o.status == S.IN_REVIEW or o.reviewer_id for o in orders)


def test_organisations_and_people_pass_the_desk_checks(db_session, loaded):
    id_numbers = []
    for order in loaded.orders:
        if order.personal:  # the holder alone, in the agent's place; no organisation, account or taxpayer ID
            holder = order.holder
            assert holder.role is PersonRole.HOLDER and order.legal_rep is None and order.identity_method is None
            assert validators.id_number(holder.id_type, holder.id_number) == holder.id_number
            assert holder.subject_serial == subject_serial(str(holder.id_type), holder.id_number)
            assert validators.mainland_mobile(holder.phone) == holder.phone
            assert validators.email_address(holder.email)
            assert order.account_number is None and order.invoice_taxpayer_id is None
            assert order.invoice_title == holder.name and regions.is_city_of(order.mailing_province,
                                                                              order.mailing_city)
            if order.previous_order_id is None:
                id_numbers.append(holder.id_number)
            continue
        org = order.organisation
        assert validators.unified_social_credit_code(org.credit_code) == org.credit_code
        assert re.fullmatch(r"\S{4,40}(公司|中心|医院|学院|中学|局|站|馆)", org.name), org.name
        assert regions.is_city_of(org.region_province, org.region_city)
        if org.phone:
            assert validators.landline_or_mobile(org.phone)
        for person in (order.legal_rep, order.agent):
            assert validators.id_number(person.id_type, person.id_number) == person.id_number
            assert person.id_number_digest == lookup_digest(person.id_number)
            if person.phone:
                assert validators.mainland_mobile(person.phone) == person.phone
            if order.previous_order_id is None:  # an after-sale order names the earlier order's people again
                id_numbers.append(person.id_number)
        assert validators.email_address(order.agent.email)
        assert (order.legal_rep.bank_card_number is not None) == (order.identity_method == "legal_rep_bank_card")
        assert validators.bank_account_number(order.account_number) == order.account_number
        assert order.account_number_digest == lookup_digest(order.account_number)
        assert order.account_name == org.name and order.invoice_taxpayer_id == org.credit_code
    assert len(set(id_numbers)) == len(id_numbers)
    assert sum(validators.resident_id_number(n) == n for n in id_numbers if len(n) == 18) > 0.95 * len(id_numbers)


def test_numbers_are_sealed_at_rest(db_session, loaded):
    person = next(o.legal_rep for o in loaded.orders if o.legal_rep is not None)  # a unit's
    stored = db_session.execute(text("SELECT id_number FROM person WHERE id = :id"), {"id": person.id}).scalar_one()
    assert bytes(stored)[:1] == b"\x01" and person.id_number.encode() not in bytes(stored)


def test_order_numbers_are_unique_and_later_orders_carry_on(db_session, loaded):
    numbers = [o.number for o in loaded.orders]
    assert len(set(numbers)) == len(numbers)
    for order in loaded.orders:
        assert re.fullmatch(r"\d{8}" + ("P" if order.personal else "U") + r"\d{6}", order.number)
        assert order.number[:8] == f"{order.created_at.astimezone(BUSINESS_TZ):%Y%m%d}"
    by_creation = sorted(loaded.orders, key=lambda o: o.created_at)
    for letter in "UP":  # each kind of certificate numbers its own orders of a day
        today = [o.number for o in by_creation if o.number[:9] == "20261125" + letter]
        assert today == sorted(today)
    assert next_order_number(db_session, CertKind.UNIT, NOW) not in numbers
    assert next_order_number(db_session, CertKind.PERSONAL, NOW) not in numbers


def test_materials_are_real_shared_images(db_session, loaded, tmp_path):
    materials = db_session.scalars(select(Material).where(Material.order_id.in_([o.id for o in loaded.orders]))).all()
    current = {(m.order_id, m.kind) for m in materials if m.superseded_at is None}
    assert current == {(o.id, kind) for o in loaded.orders for kind in documents_of(o)}
    store = folder_store(tmp_path)
    blobs = {m.stored_name: m for m in materials}
    assert 6 <= len(blobs) <= 12  # two drawings of each kind at most, the payment proof among them
    for name, material in blobs.items():
        content = store.read(name)
        assert hashlib.sha256(content).hexdigest() == material.sha256 and len(content) == material.size_bytes
        with Image.open(io.BytesIO(content)) as image:
            assert image.size == (material.width, material.height)
            assert Image.MIME[image.format] == material.content_type
    assert len({m.sha256 for m in blobs.values()}) == len(blobs)  # one blob per distinct image


def test_timestamps_follow_the_status(loaded):
    for o in loaded.orders:
        steps = [o.created_at, o.materials_completed_at, o.signed_at, o.paid_at, o.approved_at, o.completed_at]
        reached = [at for at in steps if at is not None]
        assert reached == sorted(reached) and reached[-1] <= NOW
        assert (o.materials_completed_at is None) == (o.status == S.AWAITING_MATERIALS)
        assert (o.paid_at is None) == (o.status in (S.AWAITING_MATERIALS, S.AWAITING_SIGNATURE,
                                                    S.AWAITING_PAYMENT, S.CANCELLED))
        assert (o.approved_at is not None) == (o.status in (S.APPROVED, S.COMPLETED))
        assert (o.certificate_password is not None) == (o.status == S.APPROVED)
        assert (o.rejected_at is not None) == (o.status == S.REJECTED)
        assert (o.cancelled_at is not None) == (o.status == S.CANCELLED)
        if o.status == S.CANCELLED:
            assert o.cancelled_at - o.created_at >= dt.timedelta(hours=24)
        if o.status in (S.AWAITING_MATERIALS, S.AWAITING_SIGNATURE, S.AWAITING_PAYMENT):
            assert NOW - o.created_at < dt.timedelta(hours=24)  # older unpaid orders are cancelled


def test_sla_clock_counts_working_days(db_session, loaded):
    calendar = load_calendar(db_session)
    policies = {bt: policy_for(db_session, bt) for bt in BusinessType}
    paused = 0
    for o in loaded.orders:
        if o.paid_at is None:
            assert o.sla_started_at is None and o.sla_due_at is None
            continue
        assert o.sla_started_at == o.paid_at and o.paid_at < o.sla_due_at <= o.sla_limit_at
        # Due within a working day, or at its very end (a clock started on a day off ends at midnight).
        for due in (o.sla_due_at, o.sla_limit_at):
            assert calendar.is_workday((due - dt.timedelta(microseconds=1)).astimezone(BUSINESS_TZ).date())
        if o.status == S.MORE_MATERIALS_NEEDED:
            paused += 1
            assert o.sla_paused_target_seconds is not None and o.sla_paused_limit_seconds is not None
        elif o.queue != ReviewQueue.RESUBMITTED:  # a resumed clock runs on from the re-submission
            policy = policies[o.business_type]
            assert o.sla_due_at == calendar.add_working_days(o.paid_at, policy.target_days)
            assert o.sla_limit_at == calendar.add_working_days(o.paid_at, policy.limit_days)
    assert paused
    waiting = [o.paid_at for o in loaded.orders if o.queue == ReviewQueue.NEW and o.status == S.PAID]
    assert NOW - min(waiting) > dt.timedelta(days=4)  # spread over the last few days


def test_decisions_store_their_working_time_so_the_dashboard_shows_review_times(db_session, loaded):
    calendar = load_calendar(db_session)
    orders = {o.id: o for o in loaded.orders}
    decisions = db_session.scalars(select(ReviewDecision).where(ReviewDecision.order_id.in_(orders))).all()
    assert decisions and all(d.working_seconds is not None for d in decisions)
    for decision in decisions:  # from payment; a request for more materials is the last decision before a wait
        order = orders[decision.order_id]
        assert decision.working_seconds == working_time_used(calendar, order.paid_at, decision.decided_at, [])
    times = dashboard.review_time(db_session, dashboard.ReportFilter.last_days(NOW.astimezone(BUSINESS_TZ).date()))
    assert times.decided > 0 and 0 < times.median_hours <= times.p90_hours


def test_the_oldest_keys_are_due_for_renewal_reminders(db_session, loaded):
    due = [db_session.get(Certificate, c) for c in certificates_due(db_session, NOW)]
    stages = {stage_due(days_left(c.not_after, NOW)) for c in due}
    assert {ReminderStage.DAYS_90, ReminderStage.DAYS_30} <= stages
    assert all(c.not_after > NOW for c in db_session.scalars(select(Certificate)))  # none expired: all renewable


def test_audit_history_is_chained_and_verifies_once_sealed(app, db_session, loaded):
    key = base64.b64decode(app.config["AUDIT_SEAL_KEY"])
    assert all("sealed" in p.message for p in chain_problems(db_session, key))
    seal_head(db_session, key, now=NOW)
    assert chain_problems(db_session, key) == []

    order = loaded.orders[-1]
    entries = db_session.scalars(select(AuditEntry).where(AuditEntry.order_id == order.id)
                                 .order_by(AuditEntry.seq)).all()
    assert entries[0].action == "order.created" and entries[0].after["number"] == order.number
    status = S.AWAITING_MATERIALS
    for entry in entries[1:]:
        assert entry.action == "order.status" and entry.before == {"status": str(status)}
        check_transition(status, S(entry.after["status"]))
        status = S(entry.after["status"])
    assert status == order.status
    actors = {e.actor.split(":")[0] for o in loaded.orders for e in o.audit_entries}
    assert actors == {"applicant", "system", "staff", "station"}  # a station's agent programmed the keys


def test_same_seed_same_applications_and_loading_again_adds_more(app, db_session, staff, tmp_path):
    first = load(db_session, tmp_path, 40, seed=11)
    second = load(db_session, tmp_path, 40, seed=11)
    names = [[o.holder_name for o in run.orders] for run in (first, second)]
    assert names[0] == names[1]
    numbers = [o.number for o in first.orders + second.orders]
    assert len(set(numbers)) == 80
    # The same draws give the same tracking numbers: the second load finds the first's taken and draws again.
    cards = check_cards(db_session, first.orders + second.orders)
    assert len(cards) == len(check_parcels(db_session, first.orders + second.orders)) > 0
    key = base64.b64decode(app.config["AUDIT_SEAL_KEY"])
    seal_head(db_session, key, now=NOW)
    assert chain_problems(db_session, key) == []
    stored = set(db_session.scalars(select(Material.stored_name).where(
        Material.order_id.in_([o.id for o in first.orders + second.orders]))))
    assert len(stored) <= 12  # the second load found the first one's images


# --- the keys programmed and shipped: password cards and parcels ---------------------------------------


def status_times(db_session, orders) -> dict[int, dict[OrderStatus, dt.datetime]]:
    """When each order first reached each status, as its audit history says."""
    times: dict[int, dict[OrderStatus, dt.datetime]] = {o.id: {} for o in orders}
    for order_id, after, at in db_session.execute(select(AuditEntry.order_id, AuditEntry.after, AuditEntry.at).where(
            AuditEntry.order_id.in_(times), AuditEntry.action == "order.status").order_by(AuditEntry.seq)):
        times[order_id].setdefault(S(after["status"]), at)
    return times


def parcels_of(db_session, orders) -> dict[int, list[Shipment]]:
    parcels: dict[int, list[Shipment]] = {o.id: [] for o in orders}
    for parcel in db_session.scalars(select(Shipment).where(Shipment.order_id.in_(parcels)).options(
            selectinload(Shipment.courier), selectinload(Shipment.shipped_by))):
        parcels[parcel.order_id].append(parcel)
    return parcels


def check_cards(db_session, orders) -> list[str]:
    """Every key programmed has its card, numbered in the Beijing-time year it was programmed and
    printed before it shipped; the counter is past them. Returns the card numbers."""
    times, cards = status_times(db_session, orders), []
    for order in orders:
        programmed_at, shipped_at = times[order.id].get(S.PROGRAMMED), times[order.id].get(S.SHIPPED)
        if programmed_at is None:
            assert order.password_card_number is None and order.password_card_printed_at is None
            continue
        found = re.fullmatch(r"MK(\d{4})\d{6}", order.password_card_number)
        assert found and int(found.group(1)) == programmed_at.astimezone(BUSINESS_TZ).year
        assert order.certificate_password is None  # destroyed: only approved orders keep theirs
        if shipped_at is None:
            assert order.password_card_printed_at is None
        else:
            assert programmed_at < order.password_card_printed_at <= min(
                shipped_at, programmed_at + dt.timedelta(minutes=15))
        cards.append(order.password_card_number)
    assert len(set(cards)) == len(cards)
    for year in {card[2:6] for card in cards}:
        following = next_password_card_number(db_session, dt.datetime(int(year), 7, 1, tzinfo=BUSINESS_TZ))
        assert following > max(card for card in cards if card[2:6] == year)
    return cards


TRACKING = {"shunfeng": r"SF\d{12}", "ems": r"E[A-Z]\d{9}CN", "jd": r"JD\d{12}"}


def check_parcels(db_session, orders) -> list[Shipment]:
    """One parcel per key shipped, as the station and the courier left it; none for the others."""
    times, parcels, shipped = status_times(db_session, orders), parcels_of(db_session, orders), []
    actors = {(e.order_id, S(e.after["status"])): e.actor for e in db_session.scalars(select(AuditEntry).where(
        AuditEntry.order_id.in_([o.id for o in orders]), AuditEntry.action == "order.status"))}
    for order in orders:
        if order.status not in (S.SHIPPED, S.COMPLETED):
            assert parcels[order.id] == [] and S.SHIPPED not in times[order.id]
            continue
        (parcel,) = parcels[order.id]
        assert parcel.shipped_at == times[order.id][S.SHIPPED]
        assert parcel.shipped_by.role is StaffRole.FULFILLMENT
        assert actors[(order.id, S.SHIPPED)] == parcel.shipped_by.actor  # who shipped it in the history too
        assert (parcel.recipient, parcel.phone) == (order.agent.name, order.agent.phone)
        assert parcel.address == address_of(order)
        assert re.fullmatch(TRACKING[parcel.courier.code], parcel.tracking_number), parcel.tracking_number
        assert parcel.returned_at is None and parcel.return_reason is None
        if order.status is S.COMPLETED:
            assert parcel.status is ShipmentStatus.DELIVERED and parcel.delivered_at == order.completed_at
            assert parcel.confirmed_by == f"courier:{parcel.courier.code}"
        else:
            assert parcel.status is ShipmentStatus.IN_TRANSIT
            assert parcel.delivered_at is None and parcel.confirmed_by is None
        shipped.append(parcel)
    numbers = [(p.courier_id, p.tracking_number) for p in shipped]
    assert len(set(numbers)) == len(numbers)
    return shipped


def test_programmed_keys_have_password_cards_and_shipped_ones_their_parcels(db_session, loaded):
    completed = [o for o in loaded.orders if o.status is S.COMPLETED]
    assert completed
    assert len(check_cards(db_session, loaded.orders)) == len(completed)
    parcels = check_parcels(db_session, loaded.orders)
    assert len(parcels) == len(completed)
    assert {p.courier.code for p in parcels} == set(TRACKING)  # the demo catalogue's couriers


def test_keys_waiting_for_the_courier_or_on_their_way(db_session, staff, tmp_path, monkeypatch):
    """No scenario stops at programmed or shipped today; the rows for them are right all the same."""
    review = (S.AWAITING_SIGNATURE, S.AWAITING_PAYMENT, S.PAID, S.IN_REVIEW, S.APPROVED, S.PROGRAMMING)
    scenarios = (Scenario(0.4, (*review, S.PROGRAMMED), age_days=(1, 20), window_days=14),
                 Scenario(0.3, (*review, S.PROGRAMMED, S.SHIPPED), age_days=(1, 20), window_days=14),
                 Scenario(0.3, (*review, S.PROGRAMMED, S.SHIPPED, S.COMPLETED), age_days=(1, 20), window_days=14))
    monkeypatch.setattr(demo_plans, "SCENARIOS", scenarios)
    monkeypatch.setattr(demo_data, "SCENARIOS", scenarios)
    orders = load(db_session, tmp_path, 40).orders
    assert {o.status for o in orders} == {S.PROGRAMMED, S.SHIPPED, S.COMPLETED}
    assert len(check_cards(db_session, orders)) == 40
    assert len(check_parcels(db_session, orders)) == sum(o.status is not S.PROGRAMMED for o in orders)


def test_card_numbers_follow_the_beijing_year_and_the_programming_order(db_session):
    def plan(at):
        return SimpleNamespace(first={S.PROGRAMMED: at})

    new_year = dt.datetime(2030, 12, 31, 16, tzinfo=dt.UTC)  # midnight in Beijing
    minutes = [1, None, -1, -2, 2]
    plans = [plan(new_year + dt.timedelta(minutes=m)) if m else SimpleNamespace(first={}) for m in minutes]
    assert take_card_numbers(db_session, plans) == [
        "MK2031000001", None, "MK2030000002", "MK2030000001", "MK2031000002"]
    assert next_password_card_number(db_session, new_year) == "MK2031000003"


def test_without_an_active_courier_the_shipped_keys_have_no_parcel_and_the_load_says_so(db_session, staff, tmp_path,
                                                                                       keyring):
    db_session.execute(update(Courier).values(active=False))
    loaded = load(db_session, tmp_path, 40, keyring=keyring)
    shipped = sum(o.status in (S.SHIPPED, S.COMPLETED) for o in loaded.orders)
    assert shipped and loaded.counts["skipped"] == {"parcels (no active courier)": shipped}
    assert loaded.counts["tables"]["shipment"] == 0
    assert all(o.password_card_number for o in loaded.orders if o.status is S.COMPLETED)
    assert not any(parcels_of(db_session, loaded.orders).values())


# --- the station's work: the stations, their done jobs and the keys, as the console and dashboard read them ---


DEMO_STATIONS = {name for name, _ in STATIONS}
KEY_STATES = {S.PROGRAMMED: TokenState.PROGRAMMED, S.SHIPPED: TokenState.SHIPPED, S.COMPLETED: TokenState.ACTIVE}


def jobs_of(db_session, orders) -> dict[int, ProgrammingJob]:
    return {job.order_id: job for job in db_session.scalars(select(ProgrammingJob).where(
        ProgrammingJob.order_id.in_([o.id for o in orders])).options(
        selectinload(ProgrammingJob.steps), selectinload(ProgrammingJob.token), selectinload(ProgrammingJob.station),
        selectinload(ProgrammingJob.claimed_by)))}


def test_each_programmed_key_has_its_done_job_at_a_demo_station(db_session, loaded, staff):
    times, jobs = status_times(db_session, loaded.orders), jobs_of(db_session, loaded.orders)
    certificates = {c.order_id: c for c in db_session.scalars(select(Certificate).where(
        Certificate.order_id.in_([o.id for o in loaded.orders])))}
    programmed = [o for o in loaded.orders if S.PROGRAMMED in times[o.id]]
    assert programmed and set(jobs) == {o.id for o in programmed} == set(certificates)
    tables = loaded.counts["tables"]
    assert tables["programming_job"] == tables["token"] == len(programmed)
    assert tables["programming_step"] == len(STEPS) * len(programmed)
    for order in programmed:
        job, certificate, key = jobs[order.id], certificates[order.id], jobs[order.id].token
        started, finished = times[order.id][S.PROGRAMMING], times[order.id][S.PROGRAMMED]
        assert job.status is JobStatus.DONE and job.station.name in DEMO_STATIONS and job.claimed_by == staff.station
        assert order.approved_at <= job.claimed_at < job.started_at == started < job.taken_at < job.finished_at
        assert job.finished_at == finished
        assert (job.attempt, job.step, job.interruption, job.resume, job.wipe) == (1, Step.VERIFIED, None, False, False)
        # Every step of the first attempt reported in turn, as the job page lists them.
        assert [step.step for step in job.steps] == list(STEPS) and {step.attempt for step in job.steps} == {1}
        moments = [step.at for step in job.steps]
        assert moments == sorted(moments) and job.taken_at < moments[0] and moments[-1] == finished
        issued = next(step for step in job.steps if step.step == Step.CERTIFICATE_ISSUED)
        assert int(issued.detail["serial"], 16) == int(certificate.serial_number, 16)
        assert certificate.not_before <= certificate.created_at < issued.at  # signed, then reported by the agent
        # The certificate of the job's attempt, on the job's key, bound to the order as its later steps left it.
        assert certificate.job_id == job.signing_job_id
        assert key.serial == job.media_serial == certificate.media_serial and key.order_id == order.id
        assert key.state is KEY_STATES[order.status] and key.so_pin == job.so_pin
        assert (key.resets, key.enrolments, key.wrong_user_pins, key.wrong_so_pins) == (1, 1, 0, 0)
        assert key.media_model_id == order.media_model_id
    assert len({job.media_serial for job in jobs.values()}) == len(jobs)


def test_the_orders_history_tells_what_the_station_did_with_its_job_and_key(app, db_session, loaded):
    jobs = jobs_of(db_session, loaded.orders)
    work = ("job.claimed", "job.started", "job.done", "token.state")
    station_steps = {S.PROGRAMMING, *KEY_STATES}
    for order in (o for o in loaded.orders if o.status is S.COMPLETED):
        job, parcel = jobs[order.id], parcels_of(db_session, [order])[order.id][0]
        entries = [e for e in db_session.scalars(select(AuditEntry).where(AuditEntry.order_id == order.id)
                                                 .order_by(AuditEntry.seq))
                   if e.action in work or (e.action == "order.status" and e.after["status"] in station_steps)]
        staff_actor, agent = job.claimed_by.actor, f"station:{job.station.name}"
        said = [(e.action, e.actor, (e.after or {}).get("status") or (e.after or {}).get("state")) for e in entries]
        assert said == [
            ("job.claimed", staff_actor, None), ("token.state", staff_actor, "bound"),
            ("job.started", staff_actor, None), ("order.status", staff_actor, "programming"),
            ("token.state", agent, "programmed"), ("order.status", agent, "programmed"), ("job.done", agent, None),
            ("order.status", parcel.shipped_by.actor, "shipped"), ("token.state", parcel.shipped_by.actor, "shipped"),
            ("order.status", "system", "completed"), ("token.state", "system", "active")]
        assert [e.at for e in entries] == sorted(e.at for e in entries) and entries[0].at == job.claimed_at
        assert entries[2].after == {"station": job.station.name, "serial": job.media_serial, "attempt": 1}
        assert entries[3].note == f"job {job.public_id} at {job.station.name}"
        assert entries[6].after == {"serial": job.media_serial, "certificate": entries[4].note.split()[-1],
                                    "attempt": 1, "password_card": order.password_card_number}
        keys = [e for e in entries if e.action == "token.state"]
        assert {e.target for e in keys} == {f"token:{job.media_serial}"}
        for entry in keys:
            check_token_transition(TokenState(entry.before["state"]), TokenState(entry.after["state"]))
        assert [e.before["state"] for e in keys[1:]] == [e.after["state"] for e in keys[:-1]]
    key = base64.b64decode(app.config["AUDIT_SEAL_KEY"])
    seal_head(db_session, key, now=NOW)
    assert chain_problems(db_session, key) == []


def test_the_demo_stations_are_registered_once_and_were_seen_at_their_last_job(db_session, loaded, staff, tmp_path,
                                                                               keyring):
    again = load(db_session, tmp_path, 40, seed=7, keyring=keyring)  # the same draws of keys: drawn again
    jobs = list(jobs_of(db_session, loaded.orders + again.orders).values())
    stations = db_session.scalars(select(Station).where(Station.name.in_(DEMO_STATIONS))).all()
    assert {s.name for s in stations} == DEMO_STATIONS == {job.station.name for job in jobs}
    assert len({job.media_serial for job in jobs}) == len(jobs) > loaded.counts["tables"]["token"]
    for station in stations:
        assert station.credential_sha256 and station.last_seen_at == max(
            job.finished_at for job in jobs if job.station_id == station.id)
        (registered,) = db_session.scalars(select(AuditEntry).where(AuditEntry.target == f"station:{station.name}"))
        assert registered.action == "station.credential_issued"
        assert db_session.scalar(select(Staff).where(Staff.username == registered.actor.split(":")[1])).role \
            is StaffRole.ADMIN


def test_without_station_staff_no_job_is_made_and_the_load_says_so(db_session, tmp_path, keyring, staff):
    db_session.execute(update(Staff).where(Staff.role == StaffRole.FULFILLMENT).values(active=False))
    loaded = load(db_session, tmp_path, 40, keyring=keyring)
    completed = sum(o.status is S.COMPLETED for o in loaded.orders)
    assert completed and loaded.counts["skipped"] == {
        "programming jobs (no station staff to program them)": completed}
    assert jobs_of(db_session, loaded.orders) == {}


def test_the_dashboard_counts_the_keys_the_demo_stations_programmed(db_session, loaded):
    last_days = dashboard.ReportFilter.last_days(NOW.astimezone(BUSINESS_TZ).date())
    made = Counter((job.finished_at.astimezone(BUSINESS_TZ).date(), job.station.name)
                   for job in jobs_of(db_session, loaded.orders).values())
    in_range = {(day, name): n for (day, name), n in made.items() if last_days.first <= day <= last_days.last}
    figure = dashboard.issuance(db_session, last_days)
    assert figure and {(day, name): n for day, name, n in figure} == in_range
    assert {name for _, name, _ in figure} == DEMO_STATIONS and sum(n for *_, n in figure) >= 10
    assert [day for day, *_ in figure] == sorted((day for day, *_ in figure), reverse=True)  # latest day first


def test_the_station_console_pages_show_the_demo_work(db_session, loaded, client, login_as):
    jobs = jobs_of(db_session, loaded.orders)
    job = max(jobs.values(), key=lambda job: job.finished_at)
    public_id, serial, shown = job.public_id, job.media_serial, (job.station.name, job.order.password_card_number)
    shipment_id, shipped_at = db_session.execute(select(Shipment.id, Shipment.shipped_at).where(
        Shipment.order_id.in_(jobs)).order_by(Shipment.shipped_at.desc()).limit(1)).one()
    day = f"day={shipped_at.astimezone(BUSINESS_TZ).date().isoformat()}"
    with time_machine.travel(NOW, tick=False):
        login_as(StaffRole.FULFILLMENT)
        for page in ("", "keys", "stock", "returns", "unlocks", "shipping", f"shipping/labels?{day}",
                     f"shipping/handover?{day}", f"shipments/{shipment_id}/label", f"jobs/{public_id}/progress"):
            assert client.get(f"/console/station/{page}").status_code == 200, page
        text = client.get(f"/console/station/jobs/{public_id}?lang=en").get_data(as_text=True)
        assert text.count("list-group-item-success") == len(STEPS)
        assert serial in text and all(value in text for value in shown)
        progress = client.get(f"/console/station/jobs/{public_id}/progress").get_json()
        assert progress["status"] == "done" and len(progress["steps"]) == len(STEPS)
        assert serial in client.get("/console/station/keys").get_data(as_text=True)
        login_as(StaffRole.ADMIN)
        stations = client.get("/console/station/stations?lang=en")
        assert stations.status_code == 200 and all(name in stations.get_data(as_text=True) for name in DEMO_STATIONS)


# --- the same orders as finance sees them ---------------------------------------------------------


@pytest.fixture
def billed(in_app, db_session, staff, tmp_path, billing_services):
    """Demo applications with their payments, invoices and refunds, as `flask demo-data` makes them."""
    loaded = load(db_session, tmp_path, 50, seed=21)  # a seed whose rejections include a recent one
    loaded.before = {o.id: (o.status, o.updated_at) for o in loaded.orders}
    loaded.billing = bill_demo_orders(db_session, billing_services, now=NOW)
    db_session.commit()  # as the command's unit of work does: the billing's entries are linked then
    loaded.paid = [o for o in loaded.orders if o.status in PAST_PAYMENT and o.price_cents]
    return loaded


def payment_of(db_session, order: Order) -> Payment | None:
    return db_session.scalar(select(Payment).where(Payment.order_id == order.id))


def invoices_of(db_session, order: Order, kind: InvoiceKind) -> list[Invoice]:
    return list(db_session.scalars(select(Invoice).where(Invoice.order_id == order.id, Invoice.kind == kind)))


def test_every_paid_order_has_its_trade_payment_invoice_and_refund(app, db_session, billed, billing_services):
    sent = waiting = 0
    for order in billed.orders:
        payment = payment_of(db_session, order)
        if order not in billed.paid:  # unpaid, cancelled unpaid, or free of charge: nothing to pay
            assert payment is None and not invoices_of(db_session, order, InvoiceKind.BLUE)
            continue
        trade = billing_services.provider.query(order.number)
        assert payment.amount_cents == trade.amount_cents == order.price_cents and payment.trade_no == trade.trade_no
        assert payment.paid_at == trade.paid_at == order.paid_at.replace(microsecond=0)
        assert payment.created_at == order.signed_at
        (blue,) = invoices_of(db_session, order, InvoiceKind.BLUE)
        assert blue.issued_at == order.paid_at and blue.total_cents == order.price_cents
        refund = payment.refund
        if order.status is not S.REJECTED:
            assert refund is None and payment.status is PaymentStatus.PAID and blue.status is InvoiceStatus.ISSUED
            assert trade.status is TradeState.TRADE_SUCCESS
            continue
        assert refund.reason is RefundReason.REJECTED and refund.requested_at == order.rejected_at
        confirmed_at = order.rejected_at + REFUND_CONFIRMED_AFTER
        if confirmed_at <= NOW:
            sent += 1
            assert refund.status is RefundStatus.SUCCEEDED
            assert refund.confirmed_at == refund.succeeded_at == confirmed_at
            assert refund.confirmed_by.role is StaffRole.FINANCE
            assert payment.status is PaymentStatus.REFUNDED and trade.status is TradeState.TRADE_CLOSED
            assert blue.status is InvoiceStatus.REVERSED
            assert [red.original_id for red in invoices_of(db_session, order, InvoiceKind.RED)] == [blue.id]
        else:
            waiting += 1
            assert refund.status is RefundStatus.AWAITING_CONFIRMATION
            assert payment.status is PaymentStatus.PAID and blue.status is InvoiceStatus.ISSUED
    assert sent and waiting
    assert billed.billing == {"paid and invoiced": len(billed.paid), "refunds proposed": sent + waiting,
                              "refunds sent": sent}
    assert bill_demo_orders(db_session, billing_services, now=NOW) == {}  # each order is billed once


def test_the_billing_keeps_the_orders_history_and_the_audit_chain(app, db_session, billed):
    for order in billed.paid:
        entries = {e.action: e.at for e in db_session.scalars(select(AuditEntry).where(
            AuditEntry.order_id == order.id, AuditEntry.action != "order.status"))}
        assert entries["invoice.issued"] == order.paid_at
        if order.status is S.REJECTED:
            assert entries["refund.proposed"] == order.rejected_at
    db_session.expire_all()  # a rejected order is invoiced as it stood when paid, then put back as it is
    assert {o.id: (o.status, o.updated_at) for o in billed.orders} == billed.before
    key = base64.b64decode(app.config["AUDIT_SEAL_KEY"])
    seal_head(db_session, key, now=NOW)
    assert chain_problems(db_session, key) == []


def test_the_finance_console_and_the_sandbox_bill_agree_with_the_review_side(db_session, billed, billing_services,
                                                                           client, login_as):
    totals = finance_queries.payment_totals(db_session, finance_queries.PaymentFilter())
    assert totals.count == len(billed.paid) and totals.cents == sum(o.price_cents for o in billed.paid)
    today = NOW.astimezone(BUSINESS_TZ).date()
    paid_today = sum(o.paid_at.astimezone(BUSINESS_TZ).date() == today for o in billed.paid)
    assert paid_today and finance_queries.finance_counts(db_session, NOW).payments_today == paid_today

    payments = db_session.scalars(select(Payment)).all()
    refunded = [p.refund.succeeded_at for p in payments if p.refund and p.refund.succeeded_at]
    trades = refunds = 0
    for day in sorted({moment.astimezone(BUSINESS_TZ).date() for moment in [p.paid_at for p in payments] + refunded}):
        result = reconcile_with_provider(db_session, billing_services.provider, day)
        assert result.clean, (day, result.mismatches)
        trades, refunds = trades + result.matched_trades, refunds + result.matched_refunds
    assert trades == len(payments) == len(billed.paid) and refunds == len(refunded) == billed.billing["refunds sent"]

    with time_machine.travel(NOW, tick=False):
        login_as(StaffRole.FINANCE)
        home = client.get("/console/finance/").get_data(as_text=True)
    assert re.search(rf'data-count="payments_today">\s*<span[^>]*>{paid_today}<', home)


def test_command_loads_and_reports(make_app, db_session, tmp_path):
    app = make_app(UPLOAD_FOLDER=str(tmp_path), CA_KEY_FOLDER=str(tmp_path / "ca"))
    add_staff(db_session, StaffRole.FULFILLMENT)  # after making the app, whose set-up discards what was flushed
    (tmp_path / "ca").mkdir()  # make run's ceremony, held before the demo data
    ceremony.hold_ceremony(db_session, CaSettings.from_config(app.config),
                           [add_staff(db_session, StaffRole.ADMIN), add_staff(db_session, StaffRole.SENIOR_REVIEWER)])
    app.cli.add_command(demo_data_command)
    before = db_session.scalar(select(func.count()).select_from(Order))
    payments = db_session.scalar(select(func.count()).select_from(Payment))
    result = app.test_cli_runner().invoke(args=["demo-data", "--applications", "25", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert re.search(r"added 25 applications in \d+\.\d s", result.output)
    assert "order 25" in result.output and "statuses:" in result.output
    assert re.search(r"shipment [1-9]", result.output) and "skipped:" not in result.output
    assert re.search(r"certificate [1-9]", result.output)
    assert db_session.scalar(select(func.count()).select_from(Order)) == before + 25
    made = re.search(r"billing: +paid and invoiced (\d+)", result.output)
    assert made and db_session.scalar(select(func.count()).select_from(Payment)) == payments + int(made.group(1))


def test_command_without_billing_pays_nothing_and_billing_needs_the_sandboxes(make_app, db_session, tmp_path):
    payments = db_session.scalar(select(func.count()).select_from(Payment))
    app = make_app(UPLOAD_FOLDER=str(tmp_path), INVOICE_ISSUER="tax_platform",
                   INVOICE_PLATFORM_URL="https://invoice.example/api", INVOICE_PLATFORM_KEY="platform key")
    app.cli.add_command(demo_data_command)
    refused = app.test_cli_runner().invoke(args=["demo-data", "--applications", "5"])
    assert refused.exit_code != 0 and "sandbox invoice issuer" in refused.output and "--no-billing" in refused.output
    result = app.test_cli_runner().invoke(args=["demo-data", "--applications", "5", "--no-billing"])
    assert result.exit_code == 0, result.output
    assert "billing:" not in result.output
    assert db_session.scalar(select(func.count()).select_from(Payment)) == payments


def test_command_refuses_production(make_app, db_session):
    app = make_app(**PRODUCTION)
    app.cli.add_command(demo_data_command)
    result = app.test_cli_runner().invoke(args=["demo-data", "--applications", "5"])
    assert result.exit_code != 0 and "production" in result.output


def test_three_waiting_applications_carry_the_risks_the_review_screen_warns_of(db_session, loaded):
    from models.base import utcnow
    from review.warnings import warnings_for

    risks = loaded.counts["risks"]
    assert set(risks) == {"deny_list", "phone_reused", "open_order"}
    for code, number in risks.items():
        order = db_session.scalar(select(Order).where(Order.number == number))
        found = {w.code for w in warnings_for(db_session, order, now=utcnow(), phone_reuse_limit=3)}
        assert code in found, (code, number, found)


# --- after-sale orders: the earlier order they continue and its certificate ----------------------------


def test_completed_orders_have_their_certificate_signed_by_the_issuing_ca(db_session, loaded):
    issuing = authority.issuing_ca(db_session)
    issuer_key = cx509.load_der_x509_certificate(issuing.der).public_key()
    completed = [o for o in loaded.orders if o.status is S.COMPLETED]
    certificates = {c.order_id: c for c in db_session.scalars(select(Certificate).where(
        Certificate.order_id.in_([o.id for o in loaded.orders])))}
    assert set(certificates) == {o.id for o in completed}
    for order in completed:
        certificate = certificates[order.id]
        assert certificate.issuer_id == issuing.id and certificate.status is CertificateStatus.VALID
        assert certificate.password_card_number == order.password_card_number and certificate.media_serial
        assert order.approved_at < certificate.not_before <= order.completed_at < certificate.not_after
        signed = cx509.load_der_x509_certificate(certificate.der)
        issuer_key.verify(signed.signature, signed.tbs_certificate_bytes, ec.ECDSA(signed.signature_hash_algorithm))
        assert f"{signed.serial_number:032x}" == certificate.serial_number
        if order.personal:  # the holder by name and by the digest of their ID, never the ID number
            assert [a.value for a in signed.subject] == ["CN", order.holder.name, order.holder.subject_serial]
            assert order.holder.id_number.encode() not in certificate.der
        else:
            assert signed.subject.rfc4514_string().count(order.organisation.name) == 2  # O and CN


def test_after_sale_orders_continue_an_earlier_completed_order_and_its_certificate(db_session, loaded):
    after_sale = [o for o in loaded.orders if o.business_type in demo_plans.CONTINUING]
    assert {o.business_type for o in after_sale} == set(demo_plans.CONTINUING)
    continued = [o.previous_order_id for o in after_sale]
    assert None not in continued and len(set(continued)) == len(continued)  # each earlier order once
    names_changed = reps_changed = 0
    for order in after_sale:
        earlier, certificate = order.previous_order, order.certificate
        assert earlier.status is S.COMPLETED and earlier.completed_at < order.created_at
        assert certificate.order_id == earlier.id and certificate.status is CertificateStatus.VALID
        assert order.cert_kind is earlier.cert_kind
        if order.personal:  # the same holder, by their ID
            assert order.organisation is None and order.holder.subject_serial == earlier.holder.subject_serial
        else:
            assert order.organisation.credit_code == earlier.organisation.credit_code
        assert (order.channel_id, order.product_id, order.mailing_address, order.account_number) == (
            earlier.channel_id, earlier.product_id, earlier.mailing_address, earlier.account_number)
        assert order.agent.id_number == earlier.agent.id_number
        kinds = {m.kind for m in db_session.scalars(select(Material).where(Material.order_id == order.id))}
        assert kinds == set(documents_of(order))
        if order.business_type is BusinessType.REPLACEMENT:
            assert order.revocation_reason in (RevocationReason.KEY_COMPROMISE, RevocationReason.SUPERSEDED)
            assert MaterialKind.PAYMENT_PROOF in kinds and order.price_cents > 0
        elif order.business_type is BusinessType.REVOCATION:
            assert order.revocation_reason in {int(r) for r, _ in demo_plans.REASONS[BusinessType.REVOCATION]}
            assert kinds == set() and order.price_cents == 0
        elif order.personal:  # an information change of a person: their name (the ID stays theirs)
            assert order.revocation_reason is None and order.holder.name != earlier.holder.name
        else:
            assert order.revocation_reason is None
            names_changed += order.organisation.name != earlier.organisation.name
            reps_changed += order.legal_rep.id_number != earlier.legal_rep.id_number
            assert (order.organisation.name, order.legal_rep.id_number, order.legal_rep.phone) != (
                earlier.organisation.name, earlier.legal_rep.id_number, earlier.legal_rep.phone)
            assert changed_identity(db_session, order) == (
                ["organisation_name"] * (order.organisation.name != earlier.organisation.name)
                + ["legal_rep"] * (order.legal_rep.id_number != earlier.legal_rep.id_number))
    assert names_changed and reps_changed


def test_demo_replacements_are_paid_and_revocations_free(db_session, billed):
    after_sale = [o for o in billed.orders if o.previous_order_id is not None]
    assert after_sale
    for order in after_sale:
        payment = payment_of(db_session, order)
        if order.business_type is BusinessType.REVOCATION:
            assert payment is None
        else:
            assert payment.status is PaymentStatus.PAID and payment.trade_no and payment.paid_at
