"""Controllers of the replacement (补办): the orders of the ID verified by the order query's SMS
code that may be replaced, the form filled in from the chosen one, and a new payment proof after
finance refused one. From the form on, the order takes the application's own pages (confirm,
materials, signature, done)."""
from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import RadioField

from billing import transfers
from models import MaterialKind, Order
from models.base import utcnow
from public import captcha, catalogue, operations, query_views, replacement, views
from public import order_query as queries
from public.forms import PublicApplicationForm, choices_of, input_required
from public.personal_forms import PersonalApplicationForm
from web.extensions import db, limiter

CAUSE_CHOICES = [("lost", _l("Lost")), ("damaged", _l("Damaged"))]


class ReplacementForm(PublicApplicationForm):
    """The application form, with why the key is replaced."""

    cause = RadioField(_l("Why is the key replaced?"), choices=choices_of(CAUSE_CHOICES),
                       validators=[input_required()])


class PersonalReplacementForm(PersonalApplicationForm):
    """A personal certificate's: the personal application form, with why the key is replaced."""

    cause = ReplacementForm.cause


def _identity() -> queries.QueryIdentity | None:
    return queries.identity_from(session.get(query_views.VERIFIED), now=utcnow())


def _to_query():
    return redirect(url_for("public.order_query", **{"for": "replacement"}))


@limiter.limit("30/minute")
def replacement_orders():
    identity = _identity()
    if identity is None:
        return _to_query()
    response = make_response(render_template(
        "public/replacement_orders.html", identity=identity, rows=replacement.replaceable_rows(db.session, identity),
        cert_kinds=dict(query_views.CERT_KINDS), id_types=dict(query_views.QUERY_ID_TYPES)))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@limiter.limit("30/minute", methods=["POST"])
def replacement_form(number: str):
    identity = _identity()
    if identity is None:
        return _to_query()
    earlier: Order = queries.order_of(db.session, identity, number) or abort(404)
    if not replacement.may_replace(db.session, earlier):
        flash(gettext("Order %(number)s has no certificate to replace now.", number=earlier.number), "error")
        return redirect(url_for("public.replacement_orders"))
    return _form_page(earlier, None, lambda form: replacement.submit_replacement(
        db.session, earlier, form.data, form.cause.data, actor=views._actor(),
        applicant_secret=views.applicant_secret()))


@limiter.limit("30/minute", methods=["POST"])
def replacement_edit(number: str):
    """'Return to edit' of a replacement: its own form again (the earlier order's product only, the
    cause, the transfer instructions), not the new application's."""
    order = views.owned_order(number)
    if order.status not in operations.APPLICANT_EDITABLE:
        return redirect(url_for("public.done_page", number=number))
    return _form_page(order.previous_order, order, lambda form: replacement.update_replacement(
        db.session, order, form.data, form.cause.data, actor=views._actor()))


def _form_page(earlier: Order, order: Order | None, save):
    """The replacement form for `earlier` (filled in from `order` when it is edited); `save(form)`
    keeps a valid submission and answers the order, whose confirm page follows."""
    media_models = catalogue.media_models(db.session)
    prices = replacement.prices(db.session, earlier, media_models)
    choices = {"products": [earlier.product], "media_models": media_models}
    form_class = PersonalReplacementForm if earlier.personal else ReplacementForm
    if request.method == "POST" and prices:
        form = form_class(**choices)
        valid = form.validate()
        if views._captcha_ok(form) and valid:
            return redirect(url_for("public.confirm_page", number=save(form).number))
    elif order is not None:
        form = form_class(data={**operations.form_data(order), "cause": replacement.cause_of(order)}, **choices)
    else:
        form = form_class(data=operations.form_data(earlier), **choices)
    config = current_app.config
    return render_template("public/replacement_form.html", form=form, channel=earlier.channel, order=order,
                           earlier=earlier,
                           certificate=order.certificate if order else replacement.replaceable_certificate(
                               db.session, earlier),
                           prices=prices,
                           payee={"name": config["SELLER_NAME"], "bank_account": config["SELLER_BANK_ACCOUNT"]},
                           captcha_token=captcha.new_token())


@limiter.limit("30/minute", methods=["POST"])
def payment_proof(number: str):
    """After finance refused the proof: upload a new one (the order keeps waiting for finance)."""
    order = views.owned_order(number)
    if not transfers.awaiting_new_proof(db.session, order):
        return redirect(url_for("public.done_page", number=number))
    errors: dict[str, str] = {}
    if request.method == "POST":
        errors = views._receive_uploads(order, [MaterialKind.PAYMENT_PROOF], lambda kind, image, filename: (
            replacement.store_new_proof(db.session, views._store(), order, image, original_filename=filename,
                                        actor=views._actor())))
        if not errors:
            flash(gettext("The new payment proof is in: finance checks it against the bank statement."))
            return redirect(url_for("public.done_page", number=number))
    return render_template("public/replacement_proof.html", order=order, kind=MaterialKind.PAYMENT_PROOF,
                           errors=errors)
