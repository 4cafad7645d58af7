"""Controllers of the revocation pages (证书吊销): the organisation's (or the holder's) certificates,
the request form, and its confirmation. The SMS signature, the done page and the continuation through the
order query are the application's own pages (public.views)."""
from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, SelectField, TextAreaField
from wtforms.validators import Length

from models import BusinessType, Certificate, Order, RevocationReason
from models.base import utcnow
from models.order_state import APPLICANT_EDITABLE, OrderStatus
from public import order_query as queries
from public import query_views, validators, views
from public import revocation as revocations
from public.forms import ID_TYPES, Agreed, Checked, check_id_number, choices_of, input_required, text_field
from web.extensions import db, limiter
from web.forms import Form

REASONS = {
    RevocationReason.KEY_COMPROMISE: _l("The key was lost, or its password or private key leaked (key compromise)"),
    RevocationReason.AFFILIATION_CHANGED: _l("The organisation's information changed (affiliation changed)"),
    RevocationReason.SUPERSEDED: _l("The certificate has been replaced by another (superseded)"),
    RevocationReason.CESSATION_OF_OPERATION: _l(
        "The certificate is no longer used, or the organisation has closed (cessation of operation)"),
    RevocationReason.UNSPECIFIED: _l("Another reason (unspecified)"),
}


class PersonalRevocationForm(Form):
    """A personal certificate's: its holder is the person the order query found."""

    reason = RadioField(_l("Reason for the revocation"), coerce=int,
                        choices=choices_of((int(r), REASONS[r]) for r in revocations.OFFERED_REASONS),
                        validators=[input_required()])
    note = TextAreaField(_l("Note"), validators=[Length(max=500)])
    consent = BooleanField(
        _l("I have read and agree to the service agreement, the privacy policy and the risk notice"),
        validators=[Agreed(message=_l("Please read and accept the three documents."))])
    understood = BooleanField(
        _l("I understand that a revoked certificate can never be used again and that a revocation cannot be undone"),
        validators=[Agreed(message=_l("Please confirm that you understand what a revocation means."))])


class RevocationForm(PersonalRevocationForm):
    """A unit certificate's: the legal representative, whose phone real-name check the reviewers run."""

    legal_rep_name = text_field(_l("Legal representative's name"), True, 50)
    legal_rep_id_type = SelectField(_l("ID type"), choices=choices_of(ID_TYPES), validators=[input_required()])
    legal_rep_id_number = text_field(_l("Legal representative's ID number"), True, 30)
    legal_rep_phone = text_field(_l("Legal representative's mobile phone"), True, 20,
                                 Checked(validators.mainland_mobile))

    def validate_legal_rep_id_number(self, field) -> None:
        check_id_number(self.legal_rep_id_type, field)


def _again():
    if query_views.VERIFIED in session:
        session.pop(query_views.VERIFIED)
        flash(gettext("Fifteen minutes have passed: please query again."), "error")
    return redirect(url_for("public.order_query", **{"for": "revocation"}))


def _identity() -> queries.QueryIdentity | None:
    return queries.identity_from(session.get(query_views.VERIFIED), now=utcnow())


def _private(page: str):
    response = make_response(page)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@limiter.limit("30/minute")
def revocation_certificates():
    identity = _identity()
    if identity is None:
        return _again()
    if not revocations.may_ask(identity):
        return _private(render_template("public/revocation_certificates.html", identity=identity, rows=None))
    rows = revocations.certificates_of(db.session, identity, utcnow())
    return _private(render_template("public/revocation_certificates.html", identity=identity, rows=rows,
                                    reasons=REASONS))


@limiter.limit("20/minute", methods=["POST"])
def revocation_form(serial: str):
    certificate = revocations.certificate_by_serial(db.session, serial) or abort(404)
    draft = revocations.draft_of(db.session, certificate, session.get("applicant"))
    if draft is None:
        identity = _identity()
        if identity is None:
            return _again()
        if not revocations.may_ask(identity):
            return redirect(url_for("public.revocation_certificates"))
        if revocations.certificate_of(db.session, identity, certificate.serial_number) is None:
            abort(404)
        if not revocations.may_revoke(db.session, certificate):
            flash(gettext(revocations.NotRevocable.message), "error")
            return redirect(url_for("public.revocation_certificates"))
    earlier = db.session.get(Order, certificate.order_id)
    form_class = PersonalRevocationForm if earlier.personal else RevocationForm
    if request.method == "POST":
        form = form_class()
        if form.validate():
            try:
                order = _save(certificate, draft, form.data)
            except revocations.Refused as exc:
                flash(gettext(exc.message), "error")
                return redirect(url_for("public.revocation_certificates"))
            return redirect(url_for("public.revocation_confirm", number=order.number))
    else:
        form = form_class(data=revocations.form_data(draft) if draft else revocations.first_form_data(earlier))
    return _private(render_template("public/revocation_form.html", form=form, certificate=certificate,
                                    earlier=earlier, draft=draft))


def _save(certificate: Certificate, draft: Order | None, data: dict) -> Order:
    if draft is not None:
        return revocations.update_revocation(db.session, draft, data, actor=views._actor())
    return revocations.request_revocation(db.session, certificate, data, actor=views._actor(),
                                          applicant_secret=views.applicant_secret())


def revocation_confirm(number: str):
    order = views.owned_order(number)
    if order.business_type != BusinessType.REVOCATION:
        return redirect(url_for("public.confirm_page", number=number))
    return _private(render_template(
        "public/revocation_confirm.html", order=order, certificate=db.session.get(Certificate, order.certificate_id),
        reasons=REASONS, editable=order.status in APPLICANT_EDITABLE,
        confirmable=order.status is OrderStatus.AWAITING_MATERIALS))
