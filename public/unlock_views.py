"""Controllers of unlock (证书解锁) online: the home page's service opens a key page (public.key_views)
where the key helper reports the locked key; then the way to authorise the unlock (identity, or the SMS
code for a key unlocked by identity before), the authorisation code, and the key page again while the
helper sets the new key password; the seed's "unlocked" page at the end."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from models import HelperPurpose, HelperSession, OrderStatus
from public import key_views, sms_codes, unlock, views
from public.forms import text_field
from public.key_forms import PersonalUnlockIdentityForm, UnlockIdentityForm
from web.database import writes
from web.extensions import db, limiter
from web.forms import Form

WAYS = "unlock_ways"  # the browser session's chosen way by helper session, once a code may be sent
PERSONS = [(unlock.LEGAL_REP, _l("Legal representative's phone real-name check (the unlock authorisation code "
                                 "goes to the legal representative's phone)")),
           (unlock.AGENT, _l("Agent's phone (the unlock authorisation code goes to the agent's phone)"))]


class CodeForm(Form):
    code = text_field(_l("Unlock authorisation code"), True, 12)


def _policy() -> sms_codes.CodePolicy:
    return sms_codes.CodePolicy.from_config(current_app.config)


@limiter.limit("20/minute")
@writes
def unlock_start(channel_code: str):
    return key_views.open_page(views._channel(channel_code), HelperPurpose.UNLOCK)


def _ready(public_id: str) -> tuple[HelperSession, object | None]:
    """The page's session while an unlock may be authorised; else the key page, which says why not."""
    helper = key_views.own_session(public_id)
    if not unlock.ready(helper):
        return helper, redirect(url_for("public.key_page", public_id=helper.public_id))
    return helper, None


def _chosen(helper: HelperSession) -> dict | None:
    return session.get(WAYS, {}).get(helper.public_id)


def _send(helper: HelperSession, way: str, person: str):
    """Remember the way (the identity is checked, or the key known), send the code, go to the code page."""
    session[WAYS] = {**session.get(WAYS, {}), helper.public_id: {"way": way, "person": person}}
    try:
        unlock.send_code(db.session, _policy(), helper, way, person, client_ip=request.remote_addr)
        flash(gettext("The unlock authorisation code was sent by SMS."))
    except sms_codes.CodeRefused as exc:
        flash(gettext(str(exc)), "error")
    except unlock.Refused as exc:
        flash(gettext(exc.message), "error")
    return redirect(url_for("public.unlock_code", public_id=helper.public_id))


@limiter.limit("10/minute;30/hour", methods=["POST"])
def unlock_page(public_id: str):
    helper, elsewhere = _ready(public_id)
    if elsewhere is not None:
        return elsewhere
    known = unlock.unlocked_by_identity_before(db.session, helper)
    earlier = unlock.certificate_order(db.session, helper)
    if known and request.args.get("way") != unlock.IDENTITY:
        if request.method == "POST":
            return _send(helper, unlock.SMS, unlock.AGENT)
        return render_template("public/unlock_sms.html", helper=helper, certificate=helper.certificate,
                               earlier=earlier, sent_to=unlock.masked(earlier, unlock.SMS, unlock.AGENT))
    form = _identity_form(earlier)
    error = None
    if request.method == "POST" and form.validate():
        person = unlock.HOLDER if earlier.personal else form.person.data
        try:
            unlock.check_identity(db.session, helper, form.data, person)
        except unlock.Refused as exc:
            error = gettext(exc.message)
        else:
            return _send(helper, unlock.IDENTITY, person)
    return render_template("public/unlock.html", helper=helper, certificate=helper.certificate, earlier=earlier,
                           form=form, known=known, error=error)


def _identity_form(earlier) -> Form:
    """A unit certificate's identity as on a first application, with the choice of phone; a personal
    certificate's holder."""
    data = request.form if request.method == "POST" else None
    if earlier.personal:
        return PersonalUnlockIdentityForm(data)
    return UnlockIdentityForm(data, persons=PERSONS, person=unlock.LEGAL_REP)


@limiter.limit("10/minute;30/hour", methods=["POST"])
def unlock_code(public_id: str):
    helper, elsewhere = _ready(public_id)
    if elsewhere is not None:
        return elsewhere
    chosen = _chosen(helper)
    if chosen is None:
        return redirect(url_for("public.unlock_page", public_id=helper.public_id))
    earlier = unlock.certificate_order(db.session, helper)
    form = CodeForm(request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate():
        try:
            unlock.authorise(db.session, _policy(), helper, chosen["way"], chosen["person"], form.code.data,
                             actor=views._actor(), applicant_secret=views.applicant_secret())
        except sms_codes.CodeInvalid as exc:
            form.code.errors = [*form.code.errors, gettext(str(exc))]
        except unlock.Refused as exc:
            flash(gettext(exc.message), "error")
            return redirect(url_for("public.key_page", public_id=helper.public_id))
        else:
            session[WAYS] = {k: v for k, v in session.get(WAYS, {}).items() if k != helper.public_id}
            return redirect(url_for("public.key_page", public_id=helper.public_id))
    return render_template("public/unlock_code.html", helper=helper, certificate=helper.certificate,
                           earlier=earlier, form=form, chosen=chosen,
                           sent_to=unlock.masked(earlier, chosen["way"], chosen["person"]))


@limiter.limit("5/minute;20/hour")
def unlock_code_again(public_id: str):
    helper, elsewhere = _ready(public_id)
    if elsewhere is not None:
        return elsewhere
    chosen = _chosen(helper)
    if chosen is None:
        return redirect(url_for("public.unlock_page", public_id=helper.public_id))
    return _send(helper, chosen["way"], chosen["person"])


@limiter.limit("30/minute")
def unlock_done(public_id: str):
    helper = key_views.own_session(public_id)
    order = helper.order
    if helper.purpose is not HelperPurpose.UNLOCK or order is None or order.status is not OrderStatus.COMPLETED:
        return redirect(url_for("public.key_page", public_id=helper.public_id))
    return render_template("public/unlock_done.html", helper=helper, order=order, certificate=helper.certificate)
