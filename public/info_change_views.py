"""Controllers of information change (信息变更) online: the home page's service offers the two ways to
identify the certificate (the key login on a key page, or the credit code and the SMS code to the agent's
phone on file; for a personal certificate the holder's ID type and number and the SMS code to their
phone); then the form (public.key_forms.InfoChangeForm, PersonalInfoChangeForm), the confirmation with the
old and new values side by side and 'return to edit', and the application's own materials, signature and payment
pages. The order query's after-sale action leads to the form too: its verified identity is the same.

A form is reached by its key page (/change/key/<public_id>/...) or by the certificate's serial under the
verified order-query identity (/change/certificates/<serial>/...); its values wait in the browser session
until the order is made."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import SelectField

from models import HelperPurpose, IdType
from models.base import utcnow
from models.business import KEY_WORK_STATION, SEAL_SERVICES
from models.order_state import BusinessType
from models.sealed import mask
from public import captcha, holder_orders, info_change, key_views, query_views, sms_codes, validators, views
from public import order_query as queries
from public.forms import ID_TYPES, Checked, check_id_number, choices_of, input_required, text_field
from public.key_forms import SEAL_SERVICE_LABELS, InfoChangeForm, PersonalInfoChangeForm
from web.database import writes
from web.extensions import db, limiter
from web.forms import Form

DRAFTS = "change_drafts"  # the form's values by key page or certificate, until the order is made
PENDING = "change_pending"  # the identity an SMS code was sent for (the order query's session mark)
SECTIONS = (
    (_l("Organisation"), info_change.ORGANISATION_FIELDS),
    (_l("Legal representative"), info_change.LEGAL_REP_FIELDS),
    (_l("Seal services"), ("seal_services",)),
    (_l("Invoice"), info_change.INVOICE_FIELDS),
    (_l("Contact"), info_change.CONTACT_FIELDS),
)


PERSONAL_SECTIONS = (
    (_l("Certificate holder"), ("holder_name",)),
    (_l("Contact"), holder_orders.CONTACT_FIELDS),
)


class CreditCodeForm(Form):
    credit_code = text_field(_l("Unified social credit code"), True, 30,
                             Checked(validators.unified_social_credit_code))
    captcha = text_field(_l("Captcha"), True, 8)


class PersonalIdForm(Form):
    """A personal certificate's holder, by their ID document."""

    id_type = SelectField(_l("ID type"), choices=choices_of(ID_TYPES), default=IdType.RESIDENT_ID.value,
                          validators=[input_required()])
    id_number = text_field(_l("ID number"), True, 30)
    captcha = text_field(_l("Captcha"), True, 8)

    def validate_id_number(self, field) -> None:
        check_id_number(self.id_type, field)


def _start_page(channel, form: CreditCodeForm | None = None, personal_form: PersonalIdForm | None = None):
    return render_template("public/change_start.html", channel=channel, form=form or CreditCodeForm(formdata=None),
                           personal_form=personal_form or PersonalIdForm(formdata=None),
                           captcha_token=captcha.new_token())


@limiter.limit("30/minute")
def change_start(channel_code: str):
    return _start_page(views._channel(channel_code))


@limiter.limit("20/minute")
@writes
def change_by_key(channel_code: str):
    return key_views.open_page(views._channel(channel_code), HelperPurpose.INFO_CHANGE)


@limiter.limit("10/minute;30/hour")
def change_code(channel_code: str):
    channel = views._channel(channel_code)
    form = CreditCodeForm()
    valid = form.validate()
    if not (views._captcha_ok(form) and valid):
        return _start_page(channel, form)
    identity = info_change.identity_on_file(db.session, form.credit_code.data)
    # The same words whether or not the organisation has a certificate in force.
    return _code_sent(channel, identity, _l(
        "If this organisation has a certificate in force, a code has been sent by SMS to the agent's phone given "
        "in the application of its newest certificate. It is valid for %(minutes)s minutes."))


@limiter.limit("10/minute;30/hour")
def change_personal_code(channel_code: str):
    channel = views._channel(channel_code)
    form = PersonalIdForm()
    valid = form.validate()
    if not (views._captcha_ok(form) and valid):
        return _start_page(channel, personal_form=form)
    identity = info_change.personal_identity_on_file(db.session, form.id_type.data, form.id_number.data)
    # The same words whether or not the ID has a personal certificate in force.
    return _code_sent(channel, identity, _l(
        "If this ID has a personal certificate in force, a code has been sent by SMS to the holder's phone given "
        "in the application of the newest one. It is valid for %(minutes)s minutes."))


def _code_sent(channel, identity: queries.QueryIdentity, said):
    policy = views._policy()
    info_change.send_code(db.session, policy, identity, client_ip=request.remote_addr)
    session[PENDING] = queries.session_mark(identity, now=utcnow())
    flash(str(said) % {"minutes": policy.ttl_minutes})
    return redirect(url_for("public.change_verify", channel_code=channel.code))


@limiter.limit("10/minute;60/hour", methods=["POST"])
def change_verify(channel_code: str):
    channel = views._channel(channel_code)
    identity = queries.identity_from(session.get(PENDING), now=utcnow())
    if identity is None:
        return redirect(url_for("public.change_start", channel_code=channel.code))
    error = None
    if request.method == "POST":
        try:
            info_change.check_code(db.session, views._policy(), identity, request.form.get("sms_code", ""))
        except sms_codes.CodeInvalid as exc:
            error = gettext(str(exc))
        else:
            session.pop(PENDING, None)
            session[query_views.VERIFIED] = queries.session_mark(identity, now=utcnow())
            return redirect(url_for("public.change_certificates"))
    return render_template("public/change_verify.html", channel=channel, identity=identity, error=error)


@limiter.limit("30/minute")
def change_certificates():
    identity = queries.identity_from(session.get(query_views.VERIFIED), now=utcnow())
    if identity is None:
        return redirect(url_for("public.change_start", channel_code=current_app.config["DEFAULT_CHANNEL"]))
    certificates = info_change.certificates_of(db.session, identity)
    return render_template("public/change_certificates.html", identity=identity, phone=mask(identity.phone, 3, 4),
                           rows=[(c, info_change.earlier_order(db.session, c), info_change.open_change(db.session, c))
                                 for c in certificates])


# --- the form and its confirmation ---------------------------------------------------------------------


def _identified(public_id: str | None, serial: str | None):
    """(certificate, key page or None, where to go instead or None)."""
    if public_id is not None:
        helper = key_views.own_session(public_id)
        if helper.purpose is not HelperPurpose.INFO_CHANGE or helper.logged_in_at is None:
            return None, helper, redirect(url_for("public.key_page", public_id=helper.public_id))
        if helper.order is not None:
            return None, helper, redirect(url_for(views.next_step(helper.order) or "public.done_page",
                                                  number=helper.order.number))
        return helper.certificate, helper, None
    identity = queries.identity_from(session.get(query_views.VERIFIED), now=utcnow())
    if identity is None:
        flash(gettext("Fifteen minutes have passed: please identify the organisation again."), "error")
        return None, None, redirect(url_for("public.change_start", channel_code=current_app.config["DEFAULT_CHANNEL"]))
    certificate = info_change.certificate_of(db.session, identity, serial[:40])
    if certificate is None:
        abort(404)
    return certificate, None, None


def _ref(public_id: str | None, serial: str | None) -> str:
    return f"key:{public_id}" if public_id is not None else f"certificate:{serial}"


def _form(earlier, values=None) -> InfoChangeForm | PersonalInfoChangeForm:
    formdata = request.form if request.method == "POST" else None
    if earlier.personal:
        return PersonalInfoChangeForm(formdata, data=values)
    return InfoChangeForm(formdata, data=values, seal_services=SEAL_SERVICES[BusinessType.INFO_CHANGE])


def _offer(earlier) -> dict:
    return {"price_cents": info_change.price_cents(db.session, earlier), "seal_labels": SEAL_SERVICE_LABELS}


@limiter.limit("30/minute", methods=["POST"])
def change_form(public_id: str | None = None, serial: str | None = None):
    certificate, helper, elsewhere = _identified(public_id, serial)
    if elsewhere is not None:
        return elsewhere
    earlier = info_change.earlier_order(db.session, certificate)
    ref = _ref(public_id, serial)
    form = _form(earlier, session.get(DRAFTS, {}).get(ref) or info_change.form_values(earlier))
    error = None
    if request.method == "POST" and form.validate():
        values = {name: getattr(form, name).data for name in info_change.fields_of(earlier)}
        if info_change.changes(earlier, values):
            session[DRAFTS] = {**session.get(DRAFTS, {}), ref: values}
            return redirect(url_for("public.change_confirm", public_id=public_id, serial=serial))
        error = gettext(info_change.NothingChanged.message)
    template = "public/change_personal_form.html" if earlier.personal else "public/change_form.html"
    return render_template(template, form=form, earlier=earlier, certificate=certificate,
                           args={"public_id": public_id, "serial": serial}, error=error, **_offer(earlier))


def _shown(form: InfoChangeForm, name: str) -> str:
    field = form[name]
    if name == "seal_services":
        return ", ".join(str(SEAL_SERVICE_LABELS[code]) for code in field.data or []) or "—"
    if isinstance(field, SelectField):
        return next((str(choice.label) for choice in field.choices if choice.value == field.data), field.data or "—")
    return field.data or "—"


def side_by_side(earlier, draft: dict) -> list[tuple[str, list[tuple[str, str, str, bool]]]]:
    """[(section, [(label, old, new, changed)])] of the confirmation."""
    old, new = _form(earlier, info_change.form_values(earlier)), _form(earlier, draft)
    changed = set(info_change.changes(earlier, draft))
    return [(title, [(str(new[name].label.text), _shown(old, name), _shown(new, name), name in changed)
                     for name in names]) for title, names in (PERSONAL_SECTIONS if earlier.personal else SECTIONS)]


@limiter.limit("30/minute", methods=["POST"])
@writes
def change_confirm(public_id: str | None = None, serial: str | None = None):
    certificate, helper, elsewhere = _identified(public_id, serial)
    if elsewhere is not None:
        return elsewhere
    ref = _ref(public_id, serial)
    draft = session.get(DRAFTS, {}).get(ref)
    if draft is None:
        return redirect(url_for("public.change_form", public_id=public_id, serial=serial))
    earlier = info_change.earlier_order(db.session, certificate)
    if request.method == "POST":
        try:
            order = info_change.submit_change(db.session, certificate, draft, actor=views._actor(),
                                              applicant_secret=views.applicant_secret(), helper=helper,
                                              by_post=request.form.get("key_work") == KEY_WORK_STATION)
        except info_change.Refused as refused:
            flash(gettext(refused.message), "error")
            return redirect(url_for("public.change_form", public_id=public_id, serial=serial))
        session[DRAFTS] = {k: v for k, v in session.get(DRAFTS, {}).items() if k != ref}
        return redirect(url_for(views.next_step(order) or "public.done_page", number=order.number))
    return render_template("public/change_confirm.html", earlier=earlier, certificate=certificate,
                           sections=side_by_side(earlier, draft), args={"public_id": public_id, "serial": serial},
                           key_at_pc=helper is not None, **_offer(earlier))
