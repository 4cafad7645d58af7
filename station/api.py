"""The agents' API (protocol.station): authenticated by the station credential, never a staff session,
exempt from CSRF (no cookie is involved). Bodies are checked here before any operation sees them.

Transactions are drawn by hand: a poll waits up to 20 s and must not hold SQLite's write lock while
it waits, and a certificate request waits on the signing service, which writes in its own process.
So these views are `writes_elsewhere` and take the write lock (web.database.write_lock) only for
the short transactions that write.
"""
from __future__ import annotations

import threading
import time
from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy.orm import Session

from issuance import pkcs10
from issuance.interfaces import PolicyRefused, SigningService, SigningUnavailable
from models import Station
from protocol import station as protocol
from station import agent_work, credentials
from web import edge
from web.agent_api import error, text, wrong_pins
from web.database import write_lock, writes_elsewhere
from web.extensions import db
from web.services import find_service

bp = Blueprint("station_api", __name__, url_prefix=protocol.API)

# Wakes the polls of this process when a job is queued (station.jobs marks the session, the
# after-commit hook notifies); other processes' jobs are found by looking again every POLL_STEP.
wakeup = threading.Condition()
POLL_STEP = 0.5


def notify_after_commit(session: Session) -> None:
    if session.info.pop("station_wakeup", False):
        with wakeup:
            wakeup.notify_all()


def agent_only(view):
    @wraps(view)
    def checked(*args, **kwargs):
        station = credentials.authenticate(db.session, request.headers.get("Authorization"))
        if station is None:
            return error("unauthenticated", "unknown, rotated or revoked station credential", 401)
        g.station_id = station.id
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return error("malformed", "the body is a JSON object", 400)
        try:
            return view(body, *args, **kwargs)
        except (TypeError, ValueError, KeyError) as exc:
            db.session.rollback()
            return error("malformed", f"the body does not follow the protocol: {exc}"[:200], 400)
        except agent_work.NotThisStations:
            db.session.rollback()
            return error("not_running", "this job is not running at this station", 409)

    return writes_elsewhere(checked)


def _station() -> Station:
    return db.session.get(Station, g.station_id)


@agent_only
def poll(body: dict):
    tokens = body.get("tokens")
    if not isinstance(tokens, list) or len(tokens) > 64:
        raise ValueError("tokens is a list of at most 64")
    seen = protocol.PollRequest(
        tokens=[protocol.TokenSeen(serial=text(t, "serial", 40), label=text(t, "label", 40),
                                   model=text(t, "model", 40), blank=t.get("blank") is True)
                for t in tokens if isinstance(t, dict)],
        running_job=text(body, "running_job", 20) if body.get("running_job") is not None else None,
        wait=min(float(body.get("wait", protocol.POLL_WAIT_SECONDS)), protocol.POLL_WAIT_SECONDS))
    db.session.rollback()
    with write_lock():
        agent_work.seen(db.session, _station(), seen)
        edge.commit()
    deadline = time.monotonic() + max(0.0, seen.wait)
    pins = {"transport_so_pin": current_app.config["STATION_TRANSPORT_SO_PIN"],
            "pin_limit": current_app.config["STATION_PIN_LIMIT"]}
    while True:
        if (return_id := agent_work.next_wipe(db.session, _station())) is not None:
            db.session.rollback()
            with write_lock():
                wipe = agent_work.take_wipe(db.session, _station(), return_id, **pins)
                edge.commit()
            if wipe is not None:
                return jsonify({"job": None, "wipe": protocol.to_json(wipe), "station": _station().name})
        if (unlock_id := agent_work.next_unlock(db.session, _station())) is not None:
            db.session.rollback()
            with write_lock():
                unlock = agent_work.take_unlock(db.session, _station(), unlock_id, pin_limit=pins["pin_limit"])
                edge.commit()
            if unlock is not None:
                return jsonify({"job": None, "unlock": protocol.to_json(unlock), "station": _station().name})
        if (job_id := agent_work.next_queued(db.session, _station())) is not None:
            db.session.rollback()
            with write_lock():
                job = agent_work.take(db.session, _station(), job_id, **pins)
                edge.commit()
            if job is not None:
                return jsonify({"job": protocol.to_json(job), "station": _station().name})
        db.session.rollback()
        left = deadline - time.monotonic()
        if left <= 0:
            return jsonify({"job": None, "station": _station().name})
        with wakeup:
            wakeup.wait(min(POLL_STEP, left))


def _job_call(public_id: str, work):
    """Run `work(session, station, job)` in a write transaction on the running job, committed."""
    db.session.rollback()
    with write_lock():
        station = _station()
        job = agent_work.running_job(db.session, station, public_id)
        answer = work(db.session, station, job)
        edge.commit()
    return answer


def _reports(body: dict) -> list[protocol.StepReport]:
    reports = body.get("reports") or []
    if not isinstance(reports, list) or len(reports) > protocol.MAX_REPORTS \
            or not all(isinstance(report, dict) for report in reports):
        raise ValueError(f"reports is a list of at most {protocol.MAX_REPORTS} objects")
    return [protocol.StepReport(step=protocol.Step(text(report, "step", 24)), detail=_dict(report, "detail"),
                                wrong_pins=wrong_pins(report)) for report in reports]


def _record(reports: list[protocol.StepReport]):
    def work(session, station, job):
        for report in reports:
            agent_work.report(session, station, job, report)

    return work


@agent_only
def step(body: dict, public_id: str):
    reports = _reports(body)
    if not reports:
        raise ValueError("no report")
    _job_call(public_id, _record(reports))
    return jsonify({"ok": True})


@agent_only
def failure(body: dict, public_id: str):
    reports = _reports(body)
    report = protocol.FailureReport(error=text(body, "error", 40), message=text(body, "message", 500),
                                    step=protocol.Step(body["step"]) if body.get("step") else None,
                                    wrong_pins=wrong_pins(body))

    def work(session, station, job):
        _record(reports)(session, station, job)
        agent_work.fail(session, station, job, report)

    _job_call(public_id, work)
    return jsonify({"ok": True})


@agent_only
def certificate(body: dict, public_id: str):
    """Issue (or hand back) the certificate for the key's request. A certificate the attempt holds
    for another key (the one it was made for is gone) is withdrawn first, and the job goes on as
    its next attempt: the signing service never sees a job ID twice with two keys."""
    csr_pem = text(body, "csr_pem", 16 * 1024)
    if reports := _reports(body):
        _job_call(public_id, _record(reports))
    try:
        public_key = pkcs10.read(csr_pem).public_key.dump()
    except PolicyRefused as refused:
        return _refused(public_id, refused.rule, refused.message)
    signing = find_service(SigningService)
    station = _station()
    job = agent_work.job_at(db.session, station, public_id)
    try:
        held = agent_work.certificate_for(db.session, job, public_key)
    except agent_work.NeedsWithdrawal as stale:
        withdrawn = stale.serial_number
        try:
            signing.withdraw(withdrawn, job_id=job.signing_job_id, requested_by=agent_work.actor(station))
        except SigningUnavailable as exc:
            return _unavailable(public_id, str(exc))
        _job_call(public_id, lambda session, station_, job_: agent_work.next_attempt(
            session, job_, withdrawn, station_))
        held = None
        job = agent_work.job_at(db.session, _station(), public_id)
    if held is not None:
        return jsonify(protocol.to_json(agent_work.issued(held)))
    order_number, signing_job_id = job.order.number, job.signing_job_id
    db.session.rollback()  # the signing service writes the register itself: hold no lock meanwhile
    try:
        issued = signing.issue(signing_job_id, order_number, csr_pem)
    except SigningUnavailable as exc:
        return _unavailable(public_id, str(exc))
    except PolicyRefused as refused:
        return _refused(public_id, refused.rule, refused.message)
    return jsonify(protocol.to_json(agent_work.issued(issued)))


@agent_only
def finish(body: dict, public_id: str):
    done = protocol.FinishRequest(certificate_pem=text(body, "certificate_pem", 16 * 1024),
                                  signature=text(body, "signature", 2048), reports=_reports(body))
    try:
        following = _job_call(public_id, _finished(done))
    except agent_work.Refused as refused:
        return _refused(public_id, refused.rule, refused.message)
    return jsonify({"ok": True, "next_job": following})


def _finished(done: protocol.FinishRequest):
    def work(session, station, job):
        _record(done.reports)(session, station, job)
        agent_work.finish(session, station, job, done,
                          card_prints_pin=current_app.config["PASSWORD_CARD_PRINTS_PIN"])
        following = agent_work.next_in_batch(session, job, station) if job.batch else None
        return following.public_id if following else None

    return work


def _task_call(public_id: str, task_at, work, report) -> None:
    """Run `work(session, station, task, report)` on the wipe or unlock handed to this station
    (`task_at` finds it: agent_work.wipe_at, agent_work.unlock_at), committed."""
    db.session.rollback()
    with write_lock():
        station = _station()
        work(db.session, station, task_at(db.session, station, public_id), report)
        edge.commit()


@agent_only
def wipe_done(body: dict, public_id: str):
    done = protocol.WipeDone(wrong_pins=wrong_pins(body))
    _task_call(public_id, agent_work.wipe_at, agent_work.wipe_done, done)
    return jsonify({"ok": True})


@agent_only
def wipe_failure(body: dict, public_id: str):
    report = protocol.FailureReport(error=text(body, "error", 40), message=text(body, "message", 500),
                                    wrong_pins=wrong_pins(body))
    _task_call(public_id, agent_work.wipe_at, agent_work.wipe_failed, report)
    return jsonify({"ok": True})


@agent_only
def unlock_done(body: dict, public_id: str):
    done = protocol.UnlockDone(wrong_pins=wrong_pins(body))
    _task_call(public_id, agent_work.unlock_at, agent_work.unlock_done, done)
    return jsonify({"ok": True})


@agent_only
def unlock_failure(body: dict, public_id: str):
    report = protocol.FailureReport(error=text(body, "error", 40), message=text(body, "message", 500),
                                    wrong_pins=wrong_pins(body))
    _task_call(public_id, agent_work.unlock_at, agent_work.unlock_failed, report)
    return jsonify({"ok": True})


def _refused(public_id: str, rule: str, message: str):
    _job_call(public_id, lambda session, station, job: agent_work.interrupt(
        session, job, station, "refused", f"{rule}: {message}"))
    return error(rule, message, 422)


def _unavailable(public_id: str, message: str):
    _job_call(public_id, lambda session, station, job: agent_work.interrupt(
        session, job, station, "signing_unavailable", protocol.FAILURES["signing_unavailable"]))
    return error("signing_unavailable", message, 503)


def _dict(body: dict, name: str) -> dict:
    value = body.get(name) or {}
    if not isinstance(value, dict):
        raise ValueError(f"{name} is an object")
    return value


_RULES = [
    ("/poll", poll),
    ("/jobs/<public_id>/steps", step),
    ("/jobs/<public_id>/certificate", certificate),
    ("/jobs/<public_id>/finish", finish),
    ("/jobs/<public_id>/failure", failure),
    ("/wipes/<public_id>/done", wipe_done),
    ("/wipes/<public_id>/failure", wipe_failure),
    ("/unlocks/<public_id>/done", unlock_done),
    ("/unlocks/<public_id>/failure", unlock_failure),
]
for rule, view in _RULES:
    bp.add_url_rule(rule, view_func=view, methods=["POST"])
