"""Controllers of the review console: load the order (404), check the role, act, redirect."""
from __future__ import annotations

from types import SimpleNamespace

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from billing import checkout, invoices
from documents import regions
from documents.materials import current_materials
from documents.storage import DocumentStore
from models import (
    REVIEW_ROLES,
    AuditEntry,
    BusinessType,
    Channel,
    Material,
    MaterialKind,
    Order,
    OrderStatus,
    RejectionReason,
    ReviewDecision,
    ReviewQueue,
    Staff,
    StaffRole,
)
from models.base import utcnow
from models.business import ORDER_CHECKLIST_KEY, materials_of, order_checks
from notifications import outbox
from review import after_sale_view, beside, certificates, context, identity, operations, queues, sla
from review.dual_control import changed_identity, needs_dual_control
from review.forms import (
    CHECKLIST,
    ActionForm,
    DecisionForm,
    ReassignForm,
    RevealForm,
    RiskOverrideForm,
    labels_for,
)
from review.identity import IdentityVerifier
from review.navigation import QUEUE_LABELS, request_calendar
from review.note_forms import note_form
from review.reminder_views import reminders_of
from review.warnings import warnings_for
from web.database import writes
from web.extensions import db
from web.guards import roles_required, staff_required
from web.request_guard import bounded_int
from web.services import find_service

REVIEWERS = tuple(REVIEW_ROLES)


def _order(number: str, *options) -> Order:
    return db.session.scalar(select(Order).where(Order.number == number).options(*options)) or abort(404)


# Whose order it is, and the rest the order page shows with the order: loaded in the order's statement
# rather than one statement each.
_WHOSE = tuple(joinedload(row) for row in (Order.organisation, Order.legal_rep, Order.agent))
_SHOWN_WITH_ORDER = (*_WHOSE, *(joinedload(row) for row in (Order.channel, Order.product, Order.media_model,
                                                             Order.reviewer)))


def _queue(name: str) -> ReviewQueue:
    try:
        return ReviewQueue(name)
    except ValueError:
        abort(404)


@staff_required
def home():
    if current_user.role in (StaffRole.SENIOR_REVIEWER, StaffRole.ADMIN):
        return redirect(url_for("review.dashboard"))
    if current_user.role in REVIEW_ROLES:
        return redirect(url_for("review.queue", name=ReviewQueue.NEW.value))
    if current_user.role == StaffRole.FINANCE:
        return redirect(url_for("finance.home"))
    if current_user.role == StaffRole.FULFILLMENT:
        return redirect(url_for("station.home"))
    return redirect(url_for("review.search"))


def _filter_from_args(args) -> queues.QueueFilter:
    def enum_or_none(cls, value):
        try:
            return cls(value) if value else None
        except ValueError:
            return None

    return queues.QueueFilter(
        channel_id=args.get("channel", type=bounded_int),
        business_type=enum_or_none(BusinessType, args.get("type")),
        region=args.get("region") or None,
        status=enum_or_none(OrderStatus, args.get("status")),
        reviewer=args.get("reviewer") or None,
        due=args.get("due") if args.get("due") in queues.DUE_FILTERS else None,
        q=(args.get("q") or "").strip()[:64] or None,
    )


@roles_required(*REVIEWERS)
def queue(name: str):
    which = _queue(name)
    now = utcnow()
    calendar = request_calendar()
    page = queues.queue_page(
        db.session, which, _filter_from_args(request.args), current_user, calendar=calendar, now=now,
        after=queues.Cursor.decode(request.args.get("after")),
        before=queues.Cursor.decode(request.args.get("before")),
        size=current_app.config["QUEUE_PAGE_SIZE"])
    # The page's number rides along with its cursor; without one this is the first page, whatever ?p= says.
    cursor = queues.Cursor.decode(request.args.get("after")) or queues.Cursor.decode(request.args.get("before"))
    number = max(request.args.get("p", 1, type=bounded_int), 1) if cursor else 1
    kept = {k: v for k, v in request.args.items() if k not in ("after", "before", "p") and v}
    return render_template(
        "console/queue.html", queue=which, queue_label=QUEUE_LABELS[which], page=page, page_number=number, args=kept,
        first_row=(number - 1) * current_app.config["QUEUE_PAGE_SIZE"] + 1,
        next_url=page.next_cursor and url_for("review.queue", name=name, after=page.next_cursor.encode(),
                                              p=number + 1, **kept),
        prev_url=page.prev_cursor and url_for("review.queue", name=name, before=page.prev_cursor.encode(),
                                              p=max(number - 1, 1), **kept),
        channels=_channels(), regions=regions.provinces(), reviewers=_reviewers(), statuses=queues.LISTED,
        business_types=list(BusinessType), due_filters=queues.DUE_FILTERS, claim_form=ActionForm(),
        senior_only=_senior_only(page.rows))


def _senior_only(rows) -> set[int]:
    """The rows only a senior reviewer may take (dual control): revocations always, information
    changes that touch the name or the legal representative."""
    changes = [row.id for row in rows if row.business_type == BusinessType.INFO_CHANGE]
    orders = db.session.scalars(select(Order).where(Order.id.in_(changes)).options(*_WHOSE)) if changes else []
    return ({row.id for row in rows if row.business_type == BusinessType.REVOCATION}
            | {order.id for order in orders if operations.needs_senior(db.session, order)})


def _channels():
    return db.session.execute(select(Channel.id, Channel.name).order_by(Channel.id)).all()


def _reviewers():
    return db.session.execute(select(Staff.id, Staff.display_name).where(
        Staff.role.in_(REVIEWERS), Staff.active.is_(True)).order_by(Staff.display_name)).all()


@staff_required
def search():
    text = (request.args.get("q") or "").strip()[:64]
    return render_template("console/search.html", q=text, results=queues.search_orders(db.session, text))


@staff_required
@writes
def order_page(number: str):
    """The review screen for reviewers; read only for the other roles, who open orders from the
    search for their own work (the documents stay with reviewers)."""
    order = _order(number, *_SHOWN_WITH_ORDER)
    operations.record_order_view(db.session, order, current_user)
    now = utcnow()
    calendar = request_calendar()
    materials = _reviewed_materials(order)
    reasons = _reason_rows()
    decisions = db.session.scalars(select(ReviewDecision).where(ReviewDecision.order_id == order.id)
                                   .options(joinedload(ReviewDecision.staff)).order_by(ReviewDecision.id)).all()
    form = DecisionForm()
    form.reason_ids.choices = _reason_choices(reasons)
    identity_changes = changed_identity(db.session, order)
    payment = checkout.payment_of(db.session, order)
    checks = identity.latest_checks(db.session, order)
    return render_template(
        "console/order.html", order=order, materials=materials, regions=regions,
        kinds=list(materials_of(order)),
        checklist=CHECKLIST, form=form, **labels_for(order), order_checks=order_checks(order.business_type),
        after_sale=after_sale_view.after_sale(db.session, order, payment=payment, checks=checks),
        beside=beside.fields_for(order), reasons=_reasons_for_documents(reasons, materials_of(order)),
        risk_form=RiskOverrideForm(),
        earlier_versions=_earlier_versions(order), kept=_kept_answers(decisions),
        reassign=_reassign_form(),
        action_form=ActionForm(), reveal_form=RevealForm(),
        time_left=sla.time_left(order, calendar, now),
        calendar_warning=sla.uncovered_warning(calendar, *(t for t in (order.sla_due_at, order.sla_limit_at) if t)),
        warnings=warnings_for(db.session, order, now=now,
                              phone_reuse_limit=current_app.config["PHONE_REUSE_WARNING_ORGS"]),
        checks=checks,
        decisions=decisions,
        dual_control=needs_dual_control(order, identity_changes), identity_changes=identity_changes,
        next_queue=(order.queue or ReviewQueue.NEW).value,
        mine=order.reviewer_id == current_user.id and order.status == OrderStatus.IN_REVIEW,
        payment=payment, invoices=invoices.invoices_of(db.session, order),
        messages=outbox.messages_about(db.session, order),
        certificates=certificates.certificates_of(db.session, order), now=now, reminders=reminders_of(order),
        earlier=context.earlier_orders(db.session, order), notes=context.notes(db.session, order),
        note_form=note_form(order.number),
    )


def _reviewed_materials(order: Order) -> dict[MaterialKind, Material]:
    """The current materials of the kinds the order's business type asks for (the ones reviewed)."""
    kinds = materials_of(order)
    return {kind: m for kind, m in current_materials(db.session, order).items() if kind in kinds}


def _earlier_versions(order: Order) -> dict[MaterialKind, Material]:
    """The version each re-submitted document replaced (its newest predecessor), by kind."""
    earlier: dict[MaterialKind, Material] = {}
    for material in db.session.scalars(select(Material).where(Material.order_id == order.id,
                                                              Material.superseded_at.is_not(None))
                                       .order_by(Material.superseded_at.desc())):
        earlier.setdefault(material.kind, material)
    return earlier


def _kept_answers(decisions: list[ReviewDecision]) -> dict[str, dict[str, bool | None]]:
    """The last decision's answers (of the order's decisions, oldest first), per material: the untouched
    documents keep theirs (a re-submitted document is a new material, so it starts unanswered)."""
    for decision in reversed(decisions):
        if decision.checklist:  # a JSON null is no SQL NULL: looked at here, not in its query
            return decision.checklist
    return {}


def _reason_rows() -> list[SimpleNamespace]:
    """The active reasons in the reader's language, with the failing checks each answers."""
    rows = db.session.scalars(select(RejectionReason).where(RejectionReason.active.is_(True))
                              .order_by(RejectionReason.position, RejectionReason.id))
    english = str(get_locale()) == "en"
    return [SimpleNamespace(id=r.id, text=r.text_en if english else r.text_zh, applies_to=r.applies_to) for r in rows]


def _reasons_for_documents(rows: list[SimpleNamespace], kinds) -> list[SimpleNamespace]:
    """The reasons that can concern the order: not those answering only checks of documents it has none of
    (a personal order has no business licence or seal form)."""
    shown = {"*", "order", *(kind.value for kind in kinds)}
    return [r for r in rows if not r.applies_to
            or any(code.split(":")[0].strip() in shown for code in r.applies_to.split(",") if code.strip())]


def _reason_choices(rows: list[SimpleNamespace]):
    return [(r.id, r.text) for r in rows]


@roles_required(*operations.DOCUMENT_VIEWERS)
@writes
def material_image(number: str, material_id: int):
    """A document as the reviewer sees it; every view is audited."""
    order = _order(number)
    material = db.session.get(Material, material_id)
    if material is None or material.order_id != order.id:
        abort(404)
    if order.purged_at is not None:
        abort(410)  # deleted under the retention rule: the row stays, the file is gone
    operations.record_document_view(db.session, order, current_user, material.id)
    content = find_service(DocumentStore).read(material.stored_name)
    response = Response(content, mimetype=material.content_type)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _act(number: str, action, success: str, form_class=ActionForm):
    order = _order(number)
    form = form_class()
    if not form.validate_on_submit():
        abort(400)
    try:
        action(order, form)
    except operations.ReviewError as exc:
        flash(_(exc.message, **exc.params), "error")
    else:
        flash(success, "success")
    return order


@roles_required(*REVIEWERS)
def claim(number: str):
    order = _act(number, lambda order, _f: _claim_and_verify(order), _("You hold this order now."))
    return redirect(url_for("review.order_page", number=order.number))


def _claim_and_verify(order: Order) -> None:
    operations.claim_order(db.session, order, current_user)
    _verify_once(order)


def _verify_once(order: Order) -> None:
    if not identity.latest_checks(db.session, order):
        operations.verify_identity(db.session, order, current_user, find_service(IdentityVerifier))


@roles_required(*REVIEWERS)
def next_claim(name: str):
    """Take the queue's next item by SLA due time, claimed and open, in one action."""
    if not ActionForm().validate_on_submit():
        abort(400)
    return _open_next(_queue(name))


def _open_next(queue: ReviewQueue):
    following = operations.claim_next(db.session, queue, current_user)
    if following is None:
        flash(_("Nothing left to take in this queue."), "info")
        return redirect(url_for("review.queue", name=queue.value))
    _verify_once(following)
    return redirect(url_for("review.order_page", number=following.number))


@roles_required(*REVIEWERS)
def release(number: str):
    order = _act(number, lambda order, _f: operations.release_order(db.session, order, current_user),
                 _("The order is back in its queue."))
    return redirect(url_for("review.queue", name=(order.queue or ReviewQueue.NEW).value))


@roles_required(StaffRole.SENIOR_REVIEWER)
def reassign(number: str):
    def action(order, form):
        target = db.session.get(Staff, form.staff_id.data) or abort(400)
        operations.reassign_order(db.session, order, current_user, target)

    order = _act(number, action, _("The order was reassigned."), _reassign_form)
    return redirect(url_for("review.order_page", number=order.number))


def _reassign_form():
    form = ReassignForm()
    form.staff_id.choices = [(r.id, r.display_name) for r in _reviewers()]
    return form


@roles_required(StaffRole.SENIOR_REVIEWER)
def override_risk(number: str):
    order = _act(number, lambda order, form: operations.override_risk(db.session, order, current_user,
                                                                      form.reason.data),
                 _("Override recorded: the order may be approved."), RiskOverrideForm)
    return redirect(url_for("review.order_page", number=order.number))


@roles_required(*REVIEWERS)
def verify_identity(number: str):
    order = _act(number, lambda order, _f: operations.verify_identity(
        db.session, order, current_user, find_service(IdentityVerifier)),
        _("Identity checks run again."))
    return redirect(url_for("review.order_page", number=order.number))


@roles_required(*REVIEWERS)
def decide(number: str):
    order = _order(number)
    form = DecisionForm()
    form.reason_ids.choices = _reason_choices(_reason_rows())
    form.kinds.choices = [kind.value for kind in materials_of(order)]
    if not form.validate_on_submit():
        flash(_("The decision could not be read: %(errors)s", errors=form.errors), "error")
        return redirect(url_for("review.order_page", number=number))
    materials = _reviewed_materials(order)
    checklist = form.checklist(materials, request.form, order.business_type)
    failed = operations.failed_checks(materials, checklist)
    queue = order.queue or ReviewQueue.NEW  # where the next one comes from
    try:
        message = _apply_decision(order, form, checklist, failed)
    except operations.ReviewError as exc:
        flash(_(exc.message, **exc.params), "error")
        return redirect(url_for("review.order_page", number=number))
    flash(message, "success")
    return _open_next(queue)  # the next item, claimed and open


def _apply_decision(order, form, checklist, failed: list[str]) -> str:
    """The failing checks give the reasons and the documents to upload again when the reviewer
    chose none (the page pre-selects them the same way)."""
    reason_ids = form.reason_ids.data or operations.reasons_for(db.session, failed)
    if form.decision.data == "approve":
        done = operations.approve_order(db.session, order, current_user, checklist=checklist, note=form.note.data)
        return (_("First approval recorded: a second senior reviewer must approve.")
                if done == "first_approval" else _("Approved. The applicant is notified."))
    if form.decision.data == "reject":
        operations.reject_order(db.session, order, current_user, reason_ids=reason_ids,
                                note=form.note.data, checklist=checklist)
        return _("Rejected. The applicant is notified.")
    failing_documents = (check.split(":")[0] for check in failed if not check.startswith(f"{ORDER_CHECKLIST_KEY}:"))
    kinds = [MaterialKind(k) for k in form.kinds.data or dict.fromkeys(failing_documents)]
    operations.request_materials(db.session, order, current_user, kinds=kinds, message=form.note.data,
                                 reason_ids=reason_ids, checklist=checklist,
                                 ttl_days=current_app.config["MATERIAL_REQUEST_TTL_DAYS"],
                                 public_base_url=current_app.config["PUBLIC_BASE_URL"])
    return _("The applicant was asked for more materials; the SLA clock is paused.")


@roles_required(*REVIEWERS)
def reveal(number: str):
    order = _order(number)
    form = RevealForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        value = operations.reveal_number(db.session, order, current_user, form.field.data,
                                         per_hour=current_app.config["REVEALS_PER_STAFF_PER_HOUR"])
    except operations.ReviewError as exc:
        status = 429 if isinstance(exc, operations.TooManyReveals) else 403
        return jsonify(field=form.field.data, error=_(exc.message, **exc.params)), status
    return jsonify(field=form.field.data, value=value)


@roles_required(*REVIEWERS, StaffRole.ADMIN)
def audit_log(number: str):
    order = _order(number)
    query = select(AuditEntry).where(AuditEntry.order_id == order.id)
    action = request.args.get("action") or ""
    actor = request.args.get("actor") or ""
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:  # the raw actor ("staff:wang", "station:") or a staff member's display name
        named = [f"staff:{username}" for username in db.session.scalars(
            select(Staff.username).where(Staff.display_name.contains(actor, autoescape=True)))]
        query = query.where(AuditEntry.actor.contains(actor, autoescape=True) | AuditEntry.actor.in_(named))
    entries = db.session.scalars(query.order_by(AuditEntry.seq.desc().nulls_last(), AuditEntry.id.desc())).all()
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.order_id == order.id)
                                 .distinct().order_by(AuditEntry.action)).all()
    from review.audit_sentences import sentence, staff_names
    names = staff_names(db.session, entries)
    rows = [(entry, sentence(entry, names)) for entry in entries]
    return render_template("console/audit.html", order=order, rows=rows, actions=actions,
                           action=action, actor=actor)
