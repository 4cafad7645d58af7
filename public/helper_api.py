"""The key helper's API (protocol.helper): pairing by the page's one-time code, then every call
authenticated by the credential pairing answered, never a cookie (so exempt from CSRF). Bodies are
checked here before any operation sees them.

Transactions are drawn by hand, as for the station's agent (station.api): a poll waits up to 20 s
and must not hold SQLite's write lock meanwhile, and a certificate request waits on the signing
service, which writes in its own process.
"""
from __future__ import annotations

import time
from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request

from issuance import pkcs10
from issuance.interfaces import PolicyRefused, SigningService, SigningUnavailable
from models import HelperSession, HelperTaskStatus
from protocol import helper as protocol
from public import key_helper, key_work
from web import edge
from web.agent_api import error, text, wrong_pins
from web.database import write_lock, writes_elsewhere
from web.extensions import db, limiter
from web.services import find_service

bp = Blueprint("helper_api", __name__, url_prefix=protocol.API)
POLL_STEP = 0.5
ACTOR = key_work.ACTOR


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValueError("the body is a JSON object")
    return body


def _pin_limit() -> int:
    return current_app.config["STATION_PIN_LIMIT"]


def helper_only(view):
    @wraps(view)
    def checked(*args, **kwargs):
        helper = key_helper.authenticate(db.session, request.headers.get("Authorization"))
        if helper is None:
            return error("unauthenticated", "unknown credential, or its session is over", 401)
        g.helper_id = helper.id
        try:
            return view(_body(), *args, **kwargs)
        except (TypeError, ValueError, KeyError) as exc:
            db.session.rollback()
            return error("malformed", f"the body does not follow the protocol: {exc}"[:200], 400)
        except key_work.NotThisHelpers:
            db.session.rollback()
            return error("not_running", "this task is not running for this helper", 409)
        except key_work.Refused as refused:
            db.session.rollback()
            return error(refused.rule, refused.message, 422)

    return writes_elsewhere(checked)


def _helper() -> HelperSession:
    return db.session.get(HelperSession, g.helper_id)


def _keys(body: dict) -> list[protocol.KeyOnPc]:
    keys = body.get("keys")
    if not isinstance(keys, list) or len(keys) > 8 or not all(isinstance(key, dict) for key in keys):
        raise ValueError("keys is a list of at most 8 objects")
    for key in keys:
        certificates = key.get("certificates") or []
        if not isinstance(certificates, list) or len(certificates) > 8 \
                or not all(isinstance(pem, str) and len(pem) <= 16 * 1024 for pem in certificates):
            raise ValueError("a key's certificates are at most 8 PEM texts")
        text(key, "serial", 64)
    return [protocol.key_from_json(key) for key in keys]


@limiter.limit("20/minute")
@writes_elsewhere
def pair():
    try:
        body = _body()
        code, keys = text(body, "code", 20), _keys(body)
    except (TypeError, ValueError, KeyError) as exc:
        return error("malformed", f"the body does not follow the protocol: {exc}"[:200], 400)
    db.session.rollback()
    try:
        with write_lock():
            helper, credential = key_helper.pair(db.session, code, keys)
            answer = protocol.PairAnswer(credential=credential, session_id=helper.public_id,
                                         purpose=helper.purpose.value)
            edge.commit()
    except key_helper.CodeRefused:
        db.session.rollback()
        return error("code_unknown", "this pairing code is wrong, used or expired: ask the page for a new one", 422)
    return jsonify(protocol.to_json(answer))


@helper_only
def poll(body: dict):
    keys = _keys(body)
    running = body.get("running_task")
    running = text(body, "running_task", 40) if running is not None else None
    wait = min(float(body.get("wait", protocol.POLL_WAIT_SECONDS)), protocol.POLL_WAIT_SECONDS)
    db.session.rollback()
    with write_lock():
        key_helper.seen(db.session, _helper(), keys)
        edge.commit()
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        helper = _helper()
        if not key_helper.is_open(helper) or helper.task_status is HelperTaskStatus.DONE:
            answer = protocol.HelperPollAnswer(task=None, over=True, message=_over(helper))
            db.session.rollback()
            with write_lock():  # the helper stops: its credential is spent
                key_helper.end(db.session, _helper(), "done" if helper.task_status is HelperTaskStatus.DONE
                               else "expired", ACTOR)
                edge.commit()
            return jsonify(protocol.to_json(answer))
        db.session.rollback()
        with write_lock():
            task = key_work.next_task(db.session, _helper(), running_task=running, pin_limit=_pin_limit())
            edge.commit()
        if task is not None:
            return jsonify(protocol.to_json(protocol.HelperPollAnswer(task=task)))
        db.session.rollback()
        if time.monotonic() >= deadline:
            return jsonify(protocol.to_json(protocol.HelperPollAnswer(task=None)))
        time.sleep(min(POLL_STEP, max(0.0, deadline - time.monotonic())))


def _over(helper: HelperSession) -> str:
    if helper.task_status is HelperTaskStatus.DONE:
        return "Done: the page shows the result. You may close the helper and pull out the key."
    return "The page's session is over: open the page again for a new pairing code."


def _call(task_id: str, work):
    """`work(session, helper)` in a write transaction on the session's running task, committed."""
    db.session.rollback()
    with write_lock():
        helper = _helper()
        key_work.running(helper, task_id)
        answer = work(db.session, helper)
        edge.commit()
    return answer


@helper_only
def steps(body: dict, task_id: str):
    reports = body.get("reports")
    if not isinstance(reports, list) or not 0 < len(reports) <= 32 or not all(isinstance(r, dict) for r in reports):
        raise ValueError("reports is a list of 1 to 32 objects")
    parsed = [protocol.report_from_json(report) for report in reports]
    _call(task_id, lambda session, helper: [key_work.step(helper, report, _pin_limit()) for report in parsed])
    return jsonify({"ok": True})


@helper_only
def login(body: dict, task_id: str):
    proof = protocol.LoginProof(signature=text(body, "signature", 2048), wrong_pins=wrong_pins(body, most=32))
    _call(task_id, lambda session, helper: key_work.logged_in(session, helper, proof, _pin_limit()))
    return jsonify({"ok": True})


@helper_only
def certificate(body: dict, task_id: str):
    """Issue (or hand back) the new certificate for the key's request; the signing service checks the
    order itself (approved and paid, the earlier certificate its own, the renewal's validity)."""
    csr_pem = text(body, "csr_pem", 16 * 1024)
    try:
        pkcs10.read(csr_pem)
    except PolicyRefused as refused:
        return error(refused.rule, refused.message, 422)
    helper = _helper()
    key_work.running(helper, task_id)
    order_number = helper.order.number
    db.session.rollback()  # the signing service writes the register itself: hold no lock meanwhile
    try:
        issued = find_service(SigningService).issue(task_id, order_number, csr_pem)
    except SigningUnavailable as exc:
        return error("signing_unavailable", str(exc), 503)
    except PolicyRefused as refused:
        failure = protocol.HelperFailure(error="refused", message=f"{refused.rule}: {refused.message}")
        _call(task_id, lambda session, helper_: key_work.failed(session, helper_, failure, task_id, _pin_limit()))
        return error(refused.rule, refused.message, 422)
    _call(task_id, lambda session, helper_: helper_.add_step(protocol.HelperStep.CERTIFICATE_ISSUED.value))
    return jsonify(protocol.to_json(protocol.CertificateAnswer(certificate_pem=issued.certificate_pem,
                                                               chain_pem=issued.chain_pem)))


@helper_only
def finish(body: dict, task_id: str):
    done = protocol.FinishRequest(certificate_pem=text(body, "certificate_pem", 16 * 1024),
                                  signature=text(body, "signature", 2048))
    _call(task_id, lambda session, helper: key_work.finish(session, helper, done))
    return jsonify({"ok": True})


@helper_only
def unlocked(body: dict, task_id: str):
    done = protocol.UnlockDone(wrong_pins=wrong_pins(body, most=32))
    _call(task_id, lambda session, helper: key_work.unlocked(session, helper, done, _pin_limit()))
    return jsonify({"ok": True})


@helper_only
def failure(body: dict, task_id: str):
    report = protocol.HelperFailure(error=text(body, "error", 40), message=text(body, "message", 500),
                                    step=protocol.HelperStep(body["step"]) if body.get("step") else None,
                                    wrong_pins=wrong_pins(body, most=32))
    _call(task_id, lambda session, helper: key_work.failed(session, helper, report, task_id, _pin_limit()))
    return jsonify({"ok": True})


_RULES = [
    ("/poll", poll),
    ("/tasks/<task_id>/steps", steps),
    ("/tasks/<task_id>/login", login),
    ("/tasks/<task_id>/certificate", certificate),
    ("/tasks/<task_id>/finish", finish),
    ("/tasks/<task_id>/unlocked", unlocked),
    ("/tasks/<task_id>/failure", failure),
]
bp.add_url_rule("/pair", view_func=pair, methods=["POST"])
for rule, view in _RULES:
    bp.add_url_rule(rule, view_func=view, methods=["POST"])
