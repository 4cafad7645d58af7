"""Controllers of the key programming station: the job queue, a job as it is programmed, the
stations and their agents' credentials (admin), and the keys the CA has seen."""
from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from issuance.interfaces import PolicyRefused, SigningService, SigningUnavailable
from models import JobStatus, Order, ProgrammingJob, StaffRole, Station, Token
from models.base import utcnow
from models.business_time import BUSINESS_TZ
from models.working_days import load_calendar
from protocol.station import STEPS
from station import credentials, jobs, queue
from station.forms import ActionForm, StartForm, StationForm
from web import edge
from web.database import write_lock, writes_elsewhere
from web.errors import UserError
from web.extensions import db
from web.guards import roles_required
from web.services import find_service

STAFF = (StaffRole.FULFILLMENT, StaffRole.ADMIN)


def _stale() -> int:
    return current_app.config["STATION_STALE_SECONDS"]


def _job(public_id: str) -> ProgrammingJob:
    return db.session.scalars(select(ProgrammingJob).where(ProgrammingJob.public_id == public_id)).first() \
        or abort(404)


def _order(number: str) -> Order:
    return db.session.scalars(select(Order).where(Order.number == number)).first() or abort(404)


def _stations() -> list[Station]:
    return list(db.session.scalars(select(Station).order_by(Station.name)))


@roles_required(*STAFF)
def home():
    now = utcnow()
    midnight = now.astimezone(BUSINESS_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    return render_template("station/home.html", waiting=queue.waiting_orders(db.session),
                           in_hand=queue.jobs_in_hand(db.session), done=queue.done_today(db.session, midnight),
                           stations=_stations(), calendar=load_calendar(db.session), due=queue.shipping_due,
                           interrupted=lambda job: jobs.is_interrupted(job, now, _stale()),
                           action_form=ActionForm(), now=now)


@roles_required(*STAFF)
def claim(number: str):
    try:
        job = jobs.claim(db.session, _order(number), current_user)
    except UserError as refused:
        flash(_(refused.message, **refused.params), "error")
        return redirect(url_for("station.home"))
    return redirect(url_for("station.job_page", public_id=job.public_id))


@roles_required(*STAFF)
def claim_next():
    """Take the most urgent order of the queue and open it (one action)."""
    for order in queue.waiting_orders(db.session, limit=10):
        try:
            with db.session.begin_nested():
                job = jobs.new_job(db.session, order, current_user)
        except UserError:
            continue
        return redirect(url_for("station.job_page", public_id=job.public_id))
    flash(_("No order is waiting for its key."), "info")
    return redirect(url_for("station.home"))


def _start_form(job: ProgrammingJob) -> StartForm:
    form = StartForm()
    stations = [s for s in _stations() if s.credential_sha256]
    form.station.choices = [(s.id, s.name) for s in stations]
    held = set(db.session.scalars(select(Token.serial).where(Token.order_id.is_not(None),
                                                             Token.order_id != job.order_id)))
    held.discard(jobs.mailed_in_key(job.order))  # the applicant's own key, mailed in (bind_token checks it)
    form.serial.choices = [(t["serial"], _key_choice(t, s)) for s in stations for t in s.tokens_seen or []
                           if t["serial"] not in held]
    return form


def _key_choice(token: dict, station: Station) -> str:
    return " · ".join([token["serial"], station.name] + ([] if token.get("blank") else [_("not blank")]))


@roles_required(*STAFF)
def job_page(public_id: str):
    job = _job(public_id)
    now = utcnow()
    return render_template("station/job.html", job=job, order=job.order, start_form=_start_form(job),
                           action_form=ActionForm(), steps=STEPS, interrupted=jobs.is_interrupted(job, now, _stale()),
                           may_act=job.claimed_by_id == current_user.id or current_user.role == StaffRole.ADMIN,
                           calendar=load_calendar(db.session), due=queue.shipping_due)


@roles_required(*STAFF)
def progress(public_id: str):
    """What the job page shows as it happens (it asks every half second while the job runs)."""
    job = _job(public_id)
    following = None
    if job.status is JobStatus.DONE and job.batch:
        following = db.session.scalars(select(ProgrammingJob.public_id).where(
            ProgrammingJob.claimed_by_id == job.claimed_by_id, ProgrammingJob.batch.is_(True),
            ProgrammingJob.started_at > job.started_at).order_by(ProgrammingJob.started_at).limit(1)).first()
    return jsonify({
        "status": job.status.value, "interrupted": jobs.is_interrupted(job, utcnow(), _stale()),
        "message": job.interruption_message, "attempt": job.attempt,
        "steps": [{"step": s.step, "attempt": s.attempt, "at": s.at.isoformat(), "detail": s.detail}
                  for s in job.steps if s.attempt == job.attempt],
        "next_url": url_for("station.job_page", public_id=following) if following else None,
    })


@roles_required(*STAFF)
def start(public_id: str):
    job = _job(public_id)
    form = _start_form(job)
    if form.validate_on_submit():
        station = db.session.get(Station, form.station.data) or abort(404)
        try:
            jobs.start(db.session, job, station, form.serial.data, current_user, batch=form.batch.data)
        except UserError as refused:
            flash(_(refused.message, **refused.params), "error")
    else:
        flash(_("Choose a station and a key plugged in there."), "error")
    return redirect(url_for("station.job_page", public_id=public_id))


@roles_required(*STAFF)
def resume(public_id: str):
    if ActionForm().validate_on_submit():
        try:
            jobs.resume(db.session, _job(public_id), current_user, stale_seconds=_stale())
        except UserError as refused:
            flash(_(refused.message, **refused.params), "error")
    return redirect(url_for("station.job_page", public_id=public_id))


@writes_elsewhere
@roles_required(*STAFF)
def wipe(public_id: str):
    """Wipe the key and redo: the signing service revokes the attempt's certificate first (it writes
    in its own process, so this request takes the write lock only afterwards)."""
    if not ActionForm().validate_on_submit():
        return redirect(url_for("station.job_page", public_id=public_id))
    try:
        withdrawn = jobs.withdraw_for_wipe(db.session, find_service(SigningService), _job(public_id), current_user,
                                           stale_seconds=_stale())
    except UserError as refused:
        flash(_(refused.message, **refused.params), "error")
    except PolicyRefused as refused:
        flash(_("The signing service refused: %(message)s", message=refused.message), "error")
    except SigningUnavailable:
        flash(_("The signing service cannot be reached: nothing was wiped. Please try again."), "error")
    else:
        db.session.rollback()
        with write_lock():
            jobs.redo(db.session, _job(public_id), current_user, withdrawn)
            edge.commit()
        if withdrawn:
            flash(_("Certificate %(serial)s of the wiped attempt is revoked.", serial=withdrawn), "info")
    return redirect(url_for("station.job_page", public_id=public_id))


@roles_required(*STAFF)
def release(public_id: str):
    if ActionForm().validate_on_submit():
        try:
            jobs.release(db.session, _job(public_id), current_user)
        except UserError as refused:
            flash(_(refused.message, **refused.params), "error")
            return redirect(url_for("station.job_page", public_id=public_id))
    return redirect(url_for("station.home"))


@roles_required(*STAFF)
def keys():
    tokens = db.session.scalars(select(Token).order_by(Token.updated_at.desc()).limit(200))
    return render_template("station/keys.html", tokens=list(tokens), pin_limit=current_app.config["STATION_PIN_LIMIT"])


# --- stations and credentials (admin) ---------------------------------------------------------------------


@roles_required(StaffRole.ADMIN)
def stations(credential: str | None = None, station_name: str | None = None, form: StationForm | None = None):
    return render_template("station/stations.html", stations=_stations(), form=form or StationForm(),
                           action_form=ActionForm(), credential=credential, station_name=station_name,
                           stale=dt.timedelta(seconds=_stale()), now=utcnow())


@roles_required(StaffRole.ADMIN)
def add_station():
    form = StationForm()
    if not form.validate_on_submit():
        return stations(form=form), 422
    if db.session.scalars(select(Station).where(Station.name == form.name.data)).first():
        form.name.errors = [_("A station of that name exists.")]
        return stations(form=form), 422
    return _shown_once(*credentials.register(db.session, form.name.data, current_user))


@roles_required(StaffRole.ADMIN)
def issue_credential(station_id: int):
    station = db.session.get(Station, station_id) or abort(404)
    if not ActionForm().validate_on_submit():
        return redirect(url_for("station.stations"))
    return _shown_once(station, credentials.issue(db.session, station, current_user))


def _shown_once(station: Station, credential: str):
    response = current_app.make_response(stations(credential=credential, station_name=station.name))
    response.headers["Cache-Control"] = "no-store"
    return response


@roles_required(StaffRole.ADMIN)
def revoke_credential(station_id: int):
    station = db.session.get(Station, station_id) or abort(404)
    if ActionForm().validate_on_submit():
        credentials.revoke(db.session, station, current_user)
        flash(_("The credential of station %(name)s is revoked: its agent is refused from now on.",
                name=station.name), "info")
    return redirect(url_for("station.stations"))
