"""Controllers of the key page: the pairing code for the key helper, and each step the helper
reports, as it happens (the page asks /status every second). The page is the browser's that opened
the session, never another's."""
from __future__ import annotations

from flask import abort, jsonify, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l

from models import BusinessType, HelperPurpose, HelperSession, HelperTaskStatus, OrderStatus
from models.base import utcnow
from models.business import new_certificate_needed
from protocol import helper as protocol
from public import key_helper, key_work, unlock, views
from web.database import writes
from web.extensions import db, limiter

CODES = "helper_codes"  # the browser session's pairing codes, by helper session (shown on reload)

STEP_LABELS = {
    "paired": _l("The key helper is connected"),
    protocol.HelperStep.LOGGED_IN.value: _l("Key login with the key password"),
    "started": _l("Making the new certificate: do not pull out the key"),
    protocol.HelperStep.KEY_GENERATED.value: _l("New key pair generated on the key"),
    protocol.HelperStep.REQUEST_SIGNED.value: _l("Certificate request signed on the key"),
    protocol.HelperStep.CERTIFICATE_ISSUED.value: _l("Certificate issued by the CA"),
    protocol.HelperStep.CERTIFICATE_WRITTEN.value: _l("Certificate written to the key"),
    protocol.HelperStep.CHAIN_WRITTEN.value: _l("CA certificates written to the key"),
    protocol.HelperStep.VERIFIED.value: _l("New certificate checked on the key"),
    protocol.HelperStep.OLD_KEY_DELETED.value: _l("Old key pair deleted from the key"),
    protocol.HelperStep.USER_PIN_RESET.value: _l("New key password set"),
    protocol.HelperStep.SO_PIN_ROTATED.value: _l("Unlock code used up and replaced"),
    "authorised": _l("Unlock authorised by the code: type the new key password into the helper twice"),
    "failed": _l("The key helper reported a problem"),
}
PROBLEMS = {
    "no_key": _l("No key is plugged in: plug in the USB key."),
    "several_keys": _l("More than one key is plugged in: leave only the key to work on."),
    "other_key": _l("Another key is plugged in: plug in the key you started with."),
    "unknown_certificate": _l("The key holds no certificate of ours that this service can work on."),
    "certificate_not_valid": _l("The certificate on the key is revoked or was replaced."),
    "not_renewable": _l("The certificate on the key cannot be renewed now: renewal opens 89 days before it "
                        "expires and closes 365 days after."),
    "certificate_expired": _l("The certificate on the key has expired: renew it instead."),
    "not_this_certificate": _l("The key plugged in does not hold the certificate this order changes: plug in "
                               "that certificate's key."),
}
PURPOSE_OF = {BusinessType.RENEWAL: HelperPurpose.RENEWAL, BusinessType.INFO_CHANGE: HelperPurpose.INFO_CHANGE}
# What the helper's failure codes (protocol.helper.FAILURES) mean to the applicant.
FAILURE_TEXTS = {
    "wrong_pin": _l("The key password is wrong: type it again when the helper asks."),
    "pin_locked": _l("The key is locked by wrong key passwords, or would lock at the next one: unlock it first."),
    "token_not_found": _l("The key is not plugged in: plug it in and try again."),
    "token_pulled": _l("The key was pulled out before the helper was done: plug it in and try again."),
    "so_pin_unknown": _l("The key cannot be unlocked online: mail it to us, or call the service phone."),
    "cancelled": _l("The helper was stopped before it was done: start it again with a new pairing code."),
    "signing_unavailable": _l("The CA cannot issue certificates at the moment: try again in a few minutes."),
    "refused": _l("The CA refused the request: call the service phone."),
    "token_error": _l("The key answered with an error: try again, or call the service phone."),
}
TITLES = {HelperPurpose.RENEWAL: _l("Certificate renewal"), HelperPurpose.UNLOCK: _l("Certificate unlock"),
          HelperPurpose.INFO_CHANGE: _l("Information change")}


def open_page(channel, purpose: HelperPurpose, order=None):
    """A new helper session for this browser, and its key page."""
    helper, code = key_helper.open_session(db.session, channel, purpose, browser_secret=views.applicant_secret())
    helper.order = order
    session[CODES] = {**session.get(CODES, {}), helper.public_id: code}
    return redirect(url_for("public.key_page", public_id=helper.public_id))


def own_session(public_id: str) -> HelperSession:
    helper = key_helper.for_browser(db.session, public_id[:20], session.get("applicant"))
    if helper is None:
        abort(404)
    return helper


def next_url(helper: HelperSession) -> str | None:
    """Where the page goes once the helper's part is done for now."""
    order = helper.order
    if helper.purpose is HelperPurpose.RENEWAL and order is None and helper.logged_in_at is not None:
        return url_for("public.renewal_form", public_id=helper.public_id)
    if helper.purpose is HelperPurpose.INFO_CHANGE and order is None and helper.logged_in_at is not None:
        return url_for("public.change_form", public_id=helper.public_id)
    if helper.purpose is HelperPurpose.UNLOCK:  # the way to authorise it, then the unlock's own done page
        if order is None and unlock.ready(helper):
            return url_for("public.unlock_page", public_id=helper.public_id)
        if order is not None and order.status is OrderStatus.COMPLETED:
            return url_for("public.unlock_done", public_id=helper.public_id)
        return None
    if order is not None and order.status is OrderStatus.COMPLETED:
        return url_for("public.done_page", number=order.number)
    return None


def status_of(helper: HelperSession) -> dict:
    now = utcnow()
    code = session.get(CODES, {}).get(helper.public_id)
    code_live = helper.code_expires_at is not None and helper.code_expires_at > now
    return {
        "open": key_helper.is_open(helper, now),
        "code": key_helper.shown_code(code) if code and code_live else None,
        "helper_running": key_helper.helper_running(helper, now),
        "keys": [key["serial"] for key in helper.keys_seen or []],
        "problem": str(PROBLEMS[helper.problem]) if helper.problem in PROBLEMS else None,
        "steps": [{"step": s["step"], "label": str(STEP_LABELS.get(s["step"], s["step"])), "at": s["at"]}
                  for s in helper.steps or []],
        "failed": helper.task_status is HelperTaskStatus.FAILED,  # the page offers to try again
        "error": _error(helper),
        "next": next_url(helper),
    }


def _error(helper: HelperSession) -> str | None:
    """The helper's last report, when it was a failure, in the applicant's words."""
    steps = helper.steps or []
    if not steps or steps[-1]["step"] != "failed":
        return None
    return str(FAILURE_TEXTS.get(helper.error, FAILURE_TEXTS["token_error"]))


@limiter.limit("60/minute")
def key_page(public_id: str):
    helper = own_session(public_id)
    if (target := next_url(helper)) is not None:
        return redirect(target)
    return render_template("public/key.html", helper=helper, title=TITLES[helper.purpose], status=status_of(helper),
                           base_url=request.url_root.rstrip("/"))


@limiter.limit("120/minute")
def key_status(public_id: str):
    response = jsonify(status_of(own_session(public_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@limiter.limit("10/minute")
@writes
def key_code(public_id: str):
    """A new pairing code: the old one ran out, or the helper was closed."""
    helper = own_session(public_id)
    if key_helper.is_open(helper) and not key_helper.helper_running(helper):
        code = key_helper.new_code(helper)
        session[CODES] = {**session.get(CODES, {}), helper.public_id: code}
    return redirect(url_for("public.key_page", public_id=helper.public_id))


@limiter.limit("10/minute")
@writes
def key_retry(public_id: str):
    key_work.retry(db.session, own_session(public_id))
    return redirect(url_for("public.key_page", public_id=public_id))


@limiter.limit("10/minute")
@writes
def order_key_page(number: str):
    """The key page for the new certificate of a renewal or information change this browser owns, once it
    may be written (its done page, or the order query's 'continue'): no key login then, the order names
    the certificate whose key it is."""
    order = views.owned_order(number)
    purpose = PURPOSE_OF.get(order.business_type)
    if purpose is None or order.status not in key_work.KEY_WORK_READY or not new_certificate_needed(order):
        return redirect(url_for("public.done_page", number=order.number))
    if (helper := key_helper.of_order(db.session, order, session.get("applicant"))) is not None:
        return redirect(url_for("public.key_page", public_id=helper.public_id))
    return open_page(order.channel, purpose, order=order)


def key_helper_help():
    return render_template("public/key_helper_help.html", base_url=request.url_root.rstrip("/"))
