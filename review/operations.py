"""What reviewers do to orders. Each operation checks, changes state, flushes, queues the
applicant's messages and writes the audit trail; none commits (the request edge does)."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from billing import refunds
from documents.materials import current_materials
from models import (
    REVIEW_ROLES,
    AuditEntry,
    BusinessType,
    CheckOutcome,
    Decision,
    MaterialKind,
    MaterialRequest,
    Order,
    OrderStatus,
    RejectionReason,
    ReviewDecision,
    ReviewQueue,
    Staff,
    StaffRole,
    record,
)
from models.base import update_if, utcnow
from models.business import (
    ORDER_CHECKLIST_KEY,
    REVOKES_CERTIFICATE,
    materials_of,
    needs_review,
    new_certificate_needed,
    order_checks,
    programmed_at_station,
)
from models.token_state import new_pin
from review import identity, messages, queues, sla, warnings
from review.dual_control import changed_identity, needs_dual_control
from web import jobs
from web.errors import N_, UserError

QUEUE_OF = {
    BusinessType.NEW: ReviewQueue.NEW,
    BusinessType.RENEWAL: ReviewQueue.NEW,
    BusinessType.REPLACEMENT: ReviewQueue.REPLACEMENT,
    BusinessType.INFO_CHANGE: ReviewQueue.INFO_CHANGE,
    BusinessType.REVOCATION: ReviewQueue.REVOCATION,
}


# Who may open applicants' documents.
DOCUMENT_VIEWERS = REVIEW_ROLES
REVEALED = "order.number_revealed"
# The work an approved replacement or revocation leaves: the signing service revokes the certificate
# the order names (review.revocation_work).
REVOKE_CERTIFICATE = "order.revoke_certificate"


class ReviewError(UserError):
    """An action the order's state or the reviewer's role does not allow."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def enqueue_paid_order(session: Session, order: Order, now: dt.datetime | None = None) -> None:
    """A paid order with complete materials enters its queue and its SLA clock starts; one that needs
    no review (models.business.needs_review: a renewal, a change of contact data) is approved at once,
    its new certificate made on the organisation's own key."""
    if not needs_review(order):
        order.move_to(OrderStatus.APPROVED, "system", note="paid; no review needed")
        _approval_effects(session, order)
        return
    now = now or utcnow()
    order.queue = ReviewQueue.PERSONAL if order.personal else QUEUE_OF.get(order.business_type, ReviewQueue.NEW)
    sla.start_clock(order, sla.load_calendar(session), sla.policy_for(session, order.business_type, order.cert_kind),
                    now)


def claim_order(session: Session, order: Order, staff: Staff, now: dt.datetime | None = None) -> None:
    """Take an order from the queue. Of two reviewers clicking at once exactly one wins:
    the claim is a conditional UPDATE that only succeeds while nobody holds the order."""
    _require_reviewer(staff)
    if order.first_approver_id == staff.id:
        raise ReviewError(N_("You gave the first approval: the second must come from another senior reviewer."))
    now = now or utcnow()
    if not update_if(session, order, Order.reviewer_id.is_(None), Order.status == OrderStatus.PAID,
                     reviewer_id=staff.id, claimed_at=now):
        holder = order.reviewer.display_name if order.reviewer else None
        if holder:
            raise ReviewError(N_("Already claimed by %(name)s."), name=holder)
        raise ReviewError(N_("This order is not waiting for review."))
    order.move_to(OrderStatus.IN_REVIEW, staff.actor, note="claimed")


def needs_senior(session: Session, order: Order) -> bool:
    """Dual control: the order needs two senior reviewers (review.dual_control)."""
    return needs_dual_control(order, changed_identity(session, order))


def claim_next(session: Session, queue: ReviewQueue, staff: Staff, now: dt.datetime | None = None) -> Order | None:
    """Claim the queue's next item (by SLA due time) that `staff` may decide: never one held by someone
    else, never one needing a senior for a plain reviewer, never one they gave the first approval of.
    None when nothing is left."""
    _require_reviewer(staff)
    for order in queues.unclaimed(session, queue):
        if order.first_approver_id == staff.id:
            continue
        if staff.role is not StaffRole.SENIOR_REVIEWER and needs_senior(session, order):
            continue
        try:
            with session.begin_nested():
                claim_order(session, order, staff, now)
        except ReviewError:
            continue  # another reviewer took it meanwhile
        return order
    return None


def override_risk(session: Session, order: Order, staff: Staff, reason: str) -> None:
    """A senior reviewer lets an order with a deny-list match be approved, saying why (audited)."""
    if staff.role is not StaffRole.SENIOR_REVIEWER:
        raise ReviewError(N_("Only a senior reviewer can override a deny-list match."))
    reason = reason.strip()
    if len(reason) < 10:
        raise ReviewError(N_("Say why, in at least 10 characters."))
    if not warnings.deny_list_matches(session, order):
        raise ReviewError(N_("Nobody of this order is on the deny list."))
    order.risk_overridden_by_id, order.risk_override_reason = staff.id, reason[:1000]
    record(session, staff.actor, "order.risk_overridden", order=order, note=reason[:1000],
           after={"matches": warnings.deny_list_matches(session, order)})


def release_order(session: Session, order: Order, staff: Staff) -> None:
    """Give a claimed order back to its queue (its holder, or a senior reviewer)."""
    _require_holder(order, staff, seniors_too=True)
    order.reviewer_id, order.claimed_at = None, None
    order.move_to(OrderStatus.PAID, staff.actor, note="released")


def reassign_order(session: Session, order: Order, staff: Staff, to: Staff) -> None:
    """A senior reviewer hands an order to another reviewer."""
    if staff.role != StaffRole.SENIOR_REVIEWER:
        raise ReviewError(N_("Only a senior reviewer can reassign."))
    if to.role not in REVIEW_ROLES or not to.active:
        raise ReviewError(N_("Orders can only go to an active reviewer."))
    if order.status not in (OrderStatus.PAID, OrderStatus.IN_REVIEW):
        raise ReviewError(N_("Only orders waiting for or in review can be reassigned."))
    before = {"reviewer": order.reviewer.username if order.reviewer else None}
    order.reviewer_id, order.claimed_at = to.id, utcnow()
    if order.status == OrderStatus.PAID:
        order.move_to(OrderStatus.IN_REVIEW, staff.actor, note=f"assigned to {to.username}")
    record(session, staff.actor, "order.reassigned", order=order, before=before,
           after={"reviewer": to.username})


def approve_order(session: Session, order: Order, staff: Staff, *, checklist: dict[str, dict[str, bool]],
                  note: str | None = None, now: dt.datetime | None = None) -> Decision:
    """Approve; where dual control applies, the first senior approval waits for a second.

    `checklist` holds the reviewer's ticks per current material ({"<material id>": {item: bool}}) and
    the order's own checks of its business type under "order": every document the type asks for must
    be there with every item ticked, every order check ticked, and the latest identity checks must all
    have passed. What the approval then does depends on the business type (`_approval_effects`)."""
    _require_holder(order, staff)
    _require_approvable(session, order, checklist)
    if order.risk_overridden_by_id is None and warnings.deny_list_matches(session, order):
        raise ReviewError(N_("A person of this order is on the deny list: approval waits for a senior reviewer's "
                             "written override."))
    now = now or utcnow()
    if needs_dual_control(order, changed_identity(session, order)):
        if staff.role != StaffRole.SENIOR_REVIEWER:
            raise ReviewError(N_("This change needs the approval of two senior reviewers."))
        if order.first_approver_id is None:
            order.first_approver_id, order.first_approved_at = staff.id, now
            _decide(session, order, staff, Decision.FIRST_APPROVAL, checklist=checklist, note=note, now=now)
            order.reviewer_id, order.claimed_at = None, None
            order.move_to(OrderStatus.PAID, staff.actor, note="first approval; waiting for a second senior reviewer")
            return Decision.FIRST_APPROVAL
        if order.first_approver_id == staff.id:
            raise ReviewError(N_("The second approval must come from a different senior reviewer."))
    _decide(session, order, staff, Decision.APPROVE, checklist=checklist, note=note, now=now)
    order.queue = None
    order.move_to(OrderStatus.APPROVED, staff.actor)
    _approval_effects(session, order)
    return Decision.APPROVE


def _approval_effects(session: Session, order: Order) -> None:
    """A key the station programs (models.business.programmed_at_station: one to ship, or the
    applicant's own key mailed in) gets its certificate password, and the applicant hears that it is on
    its way; the certificate a replacement or revocation names is revoked by the signing service from
    the worker, which then tells the applicant; an information change waits for its certificate to be
    updated on the applicant's key."""
    if order.business_type in REVOKES_CERTIFICATE:
        jobs.enqueue(session, REVOKE_CERTIFICATE, order.id)
    if programmed_at_station(order):
        order.certificate_password = new_pin()  # the key's first password
        messages.approved(session, order)
    elif order.business_type is BusinessType.INFO_CHANGE:
        messages.info_change_approved(session, order)
        _done_without_key_work(order, "system")


def _done_without_key_work(order: Order, actor: str) -> None:
    """An information change that leaves the certificate's subject as it is needs no new certificate
    (models.business.new_certificate_needed): approved, it is done."""
    if order.business_type is BusinessType.INFO_CHANGE and not new_certificate_needed(order):
        order.move_to(OrderStatus.COMPLETED, actor, note="the certificate's subject is unchanged: no new certificate")


def reject_order(session: Session, order: Order, staff: Staff, *, reason_ids: list[int],
                 note: str | None, checklist: dict | None = None, now: dt.datetime | None = None) -> None:
    _require_holder(order, staff)
    reasons = _reasons(session, reason_ids)
    if not reasons and not (note or "").strip():
        raise ReviewError(N_("Give at least one reason for the rejection."))
    _decide(session, order, staff, Decision.REJECT, checklist=checklist, note=note,
            reason_ids=[r.id for r in reasons], now=now)
    order.queue = None
    order.move_to(OrderStatus.REJECTED, staff.actor, note="; ".join([r.text_zh for r in reasons] + [note or ""]))
    messages.rejected(session, order, [r.text_zh for r in reasons], note)
    refunds.propose_refund_for_rejected(session, order, actor=staff.actor)  # finance confirms it


def request_materials(session: Session, order: Order, staff: Staff, *, kinds: list[MaterialKind],
                      message: str | None, reason_ids: list[int] | None = None,
                      checklist: dict | None = None, ttl_days: int = 15,
                      public_base_url: str, now: dt.datetime | None = None) -> str:
    """Ask the applicant for named documents again; the SLA clock pauses until they come.
    Returns the link token (only its hash is stored)."""
    _require_holder(order, staff)
    if not kinds:
        raise ReviewError(N_("Name at least one document to upload again."))
    now = now or utcnow()
    reasons = _reasons(session, reason_ids or [])
    text = "; ".join([r.text_zh for r in reasons] + ([message.strip()] if message and message.strip() else []))
    token = secrets.token_urlsafe(24)
    session.add(MaterialRequest(order_id=order.id, staff_id=staff.id, kinds=[str(k) for k in kinds],
                                message=text or None, token_hash=_hash(token), token=token,
                                requested_at=now, expires_at=now + dt.timedelta(days=ttl_days)))
    _decide(session, order, staff, Decision.MORE_MATERIALS, checklist=checklist, note=text or None,
            reason_ids=[r.id for r in reasons], now=now)
    sla.pause_clock(order, sla.load_calendar(session), now)
    order.move_to(OrderStatus.MORE_MATERIALS_NEEDED, staff.actor, note=", ".join(str(k) for k in kinds))
    link = material_link(public_base_url, order, token)
    messages.more_materials(session, order, kinds, text, link, now + dt.timedelta(days=ttl_days))
    return token


def material_link(public_base_url: str, order: Order, token: str) -> str:
    """The applicant's page for uploading what a request names."""
    return f"{public_base_url.rstrip('/')}/apply/{order.number}/more/{token}"


def open_material_request(session: Session, order: Order, token: str,
                          now: dt.datetime | None = None) -> MaterialRequest | None:
    """The request a link token opens, if it is this order's, still open and not expired."""
    now = now or utcnow()
    request = session.scalar(select(MaterialRequest).where(MaterialRequest.token_hash == _hash(token)))
    if (request is None or request.order_id != order.id or request.fulfilled_at is not None
            or request.expires_at <= now or order.status != OrderStatus.MORE_MATERIALS_NEEDED):
        return None
    return request


def resubmit_materials(session: Session, order: Order, request: MaterialRequest, *, actor: str,
                       now: dt.datetime | None = None) -> None:
    """The applicant uploaded every named document: back to the re-submitted queue, clock running, and
    straight to the reviewer who asked when they are at work (signed in within the last
    RETURN_TO_ASKER_HOURS working hours, not marked absent)."""
    now = now or utcnow()
    request.fulfilled_at = now
    order.reviewer_id, order.claimed_at = None, None
    order.queue = ReviewQueue.RESUBMITTED
    calendar = sla.load_calendar(session)
    sla.resume_clock(order, calendar, now)
    order.move_to(OrderStatus.PAID, actor, note="materials re-submitted: " + ", ".join(request.kinds))
    asker = session.get(Staff, request.staff_id)
    if asker is not None and at_work(asker, calendar, now):
        order.reviewer_id, order.claimed_at = asker.id, now
        order.move_to(OrderStatus.IN_REVIEW, actor, note=f"back to {asker.username}, who asked for them")


RETURN_TO_ASKER_HOURS = 8


def at_work(staff: Staff, calendar, now: dt.datetime) -> bool:
    """Active, a reviewer, not marked absent, signed in within the last RETURN_TO_ASKER_HOURS working hours."""
    if not staff.active or staff.role not in REVIEW_ROLES or staff.absent_since is not None:
        return False
    seen = staff.last_login_at
    return seen is not None and calendar.working_seconds_between(seen, now) <= RETURN_TO_ASKER_HOURS * 3600


def mark_absent(session: Session, staff: Staff, senior: Staff, absent: bool) -> None:
    """A senior reviewer marks a reviewer absent (or back): while absent, re-submitted materials go to
    the queue instead of to them."""
    if senior.role is not StaffRole.SENIOR_REVIEWER:
        raise ReviewError(N_("Only a senior reviewer can mark a reviewer absent."))
    if staff.role not in REVIEW_ROLES:
        raise ReviewError(N_("Only reviewers are marked absent or back."))
    staff.absent_since = utcnow() if absent else None
    record(session, senior.actor, "staff.absent" if absent else "staff.back", target=f"staff:{staff.username}")


class TooManyReveals(ReviewError):
    """The staff member's hourly budget of revealed numbers is used up."""


def may_view_documents(staff: Staff) -> bool:
    """The one rule for applicants' documents (ID scans, licences), on the console and on the
    applicant-side image URL alike: reviewers only."""
    return staff.role in DOCUMENT_VIEWERS


def record_order_view(session: Session, order: Order, staff: Staff) -> None:
    record(session, staff.actor, "order.viewed", order=order)


def reveal_number(session: Session, order: Order, staff: Staff, field: str, *, per_hour: int,
                  now: dt.datetime | None = None) -> str:
    """Show one full ID or bank number to the reviewer holding the order, or to a senior
    reviewer; at most `per_hour` a staff member; every reveal is audited."""
    _require_reviewer(staff)
    if order.reviewer_id != staff.id and staff.role != StaffRole.SENIOR_REVIEWER:
        raise ReviewError(N_("Claim the order first: only the reviewer holding it sees full numbers."))
    hour_ago = (now or utcnow()) - dt.timedelta(hours=1)
    revealed = session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.actor == staff.actor, AuditEntry.action == REVEALED, AuditEntry.at > hour_ago))
    if revealed >= per_hour:
        raise TooManyReveals(N_("You have revealed %(count)d numbers within an hour, the most allowed. "
                                "Please try again later."), count=revealed)
    value = {  # a personal order has no legal representative: nothing to reveal of one
        "legal_rep_id_number": lambda: order.legal_rep and order.legal_rep.id_number,
        "agent_id_number": lambda: order.agent.id_number,
        "account_number": lambda: order.account_number,
        "legal_rep_bank_card": lambda: order.legal_rep and order.legal_rep.bank_card_number,
        "agent_bank_card": lambda: order.agent.bank_card_number,
    }.get(field)
    if value is None:
        raise ReviewError(N_("Unknown field."))
    record(session, staff.actor, REVEALED, order=order, after={"field": field})
    return value() or ""


def verify_identity(session: Session, order: Order, staff: Staff, verifier) -> None:
    """Run the identity checks of the order's chosen methods; the results are kept and audited."""
    checks = identity.verify_order(session, order, verifier)
    record(session, staff.actor, "identity.checked", order=order,
           after={check.method: str(check.outcome) for check in checks})


def record_document_view(session: Session, order: Order, staff: Staff, material_id: int) -> None:
    record(session, staff.actor, "material.viewed", order=order, target=f"material:{material_id}")


def _decide(session, order, staff, decision, *, checklist=None, note=None, reason_ids=None, now=None) -> None:
    now = now or utcnow()
    session.add(ReviewDecision(order_id=order.id, staff_id=staff.id, decision=decision,
                               checklist=checklist or None, reason_ids=reason_ids or None,
                               note=(note or "").strip() or None, decided_at=now,
                               working_seconds=review_working_seconds(session, order, now)))


def review_working_seconds(session: Session, order: Order, now: dt.datetime,
                           calendar: sla.WorkingCalendar | None = None) -> int | None:
    """The working time the order has spent in review by `now`, its waits for materials left out."""
    if order.sla_started_at is None:
        return None
    pauses = session.execute(select(MaterialRequest.requested_at, MaterialRequest.fulfilled_at).where(
        MaterialRequest.order_id == order.id, MaterialRequest.requested_at < now)).all()
    return sla.working_time_used(calendar or sla.load_calendar(session), order.sla_started_at, now, pauses)


def fill_working_seconds(session: Session) -> int:
    """Give every decision made before decisions stored their working time (working_seconds NULL) the
    figure it would have stored; returns how many were filled. Once per deployment, after the migration:
    three statements and one UPDATE for all, however many decisions."""
    calendar = sla.load_calendar(session)
    pauses: dict[int, list] = {}
    for order_id, asked, came in session.execute(select(MaterialRequest.order_id, MaterialRequest.requested_at,
                                                        MaterialRequest.fulfilled_at)):
        pauses.setdefault(order_id, []).append((asked, came))
    rows = session.execute(select(ReviewDecision.id, ReviewDecision.order_id, ReviewDecision.decided_at,
                                  Order.sla_started_at).join(Order, Order.id == ReviewDecision.order_id).where(
        ReviewDecision.working_seconds.is_(None), Order.sla_started_at.is_not(None))).all()
    values = [{"id": decision_id, "working_seconds": sla.working_time_used(
        calendar, started, decided, [p for p in pauses.get(order_id, ()) if p[0] < decided])}
        for decision_id, order_id, decided, started in rows]
    if values:
        session.execute(update(ReviewDecision), values)
    return len(values)


def _reasons(session: Session, ids: list[int]) -> list[RejectionReason]:
    if not ids:
        return []
    return list(session.scalars(select(RejectionReason).where(
        RejectionReason.id.in_(ids), RejectionReason.active.is_(True)).order_by(RejectionReason.position)))


def failed_checks(materials: dict, checklist: dict[str, dict[str, bool | None]]) -> list[str]:
    """The failing checks as "<material kind>:<check>" (`materials`: kind -> current material), and
    the order's own as "order:<check>"."""
    kinds = {str(material.id): kind for kind, material in materials.items()}
    kinds[ORDER_CHECKLIST_KEY] = ORDER_CHECKLIST_KEY
    return [f"{kinds[mid]}:{item}" for mid, items in checklist.items() if mid in kinds
            for item, answer in items.items() if answer is False]


def reasons_for(session: Session, failed: list[str]) -> list[int]:
    """The active rejection reasons that answer these failing checks (RejectionReason.applies_to)."""
    items = {check.split(":", 1)[1] for check in failed}
    found = []
    for reason in session.scalars(select(RejectionReason).where(RejectionReason.active.is_(True))
                                  .order_by(RejectionReason.position, RejectionReason.id)):
        answers = {code.strip() for code in (reason.applies_to or "").split(",") if code.strip()}
        if answers & set(failed) or any(f"*:{item}" in answers for item in items):
            found.append(reason.id)
    return found


def _require_approvable(session: Session, order: Order, checklist: dict[str, dict[str, bool | None]]) -> None:
    materials = current_materials(session, order)
    for kind in materials_of(order):
        material = materials.get(kind)
        if material is None or not checklist.get(str(material.id)):
            raise ReviewError(N_("Answer every check of every document before approving."))
    order_answers = checklist.get(ORDER_CHECKLIST_KEY) or {}
    if any(check not in order_answers for check in order_checks(order.business_type)):
        raise ReviewError(N_("Answer every check of the order before approving."))
    answers = [answer for items in checklist.values() for answer in items.values()]
    if any(answer is None for answer in answers):
        raise ReviewError(N_("Answer every check of every document before approving."))
    if not all(answers):
        raise ReviewError(N_("A check fails: reject the application or ask for more materials."))
    if order.business_type in REVOKES_CERTIFICATE and (order.certificate_id is None or order.revocation_reason is None):
        raise ReviewError(N_("This order names no certificate to revoke, or no reason: it cannot be approved."))
    checks = identity.latest_checks(session, order)
    if not checks or any(check.outcome != CheckOutcome.PASSED for check in checks):
        raise ReviewError(N_("Identity verification has not passed."))


def _require_reviewer(staff: Staff) -> None:
    if staff.role not in REVIEW_ROLES:
        raise ReviewError(N_("Only reviewers work the review queues."))


def _require_holder(order: Order, staff: Staff, *, seniors_too: bool = False) -> None:
    _require_reviewer(staff)
    if order.status != OrderStatus.IN_REVIEW:
        raise ReviewError(N_("This order is not in review."))
    if order.reviewer_id != staff.id and not (seniors_too and staff.role == StaffRole.SENIOR_REVIEWER):
        raise ReviewError(N_("Claim the order first: another reviewer holds it.") if order.reviewer_id
                          else N_("Claim the order first."))


