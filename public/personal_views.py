"""Controllers of the personal certificate's application form (办理个人证书): the form and its
'return to edit'. From the confirm page on, a personal order takes the application's own pages
(confirm, materials, signature, payment, done)."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for

from models import BusinessType, CertKind, Channel, Order
from public import captcha, catalogue, operations, views
from public.personal_forms import PersonalApplicationForm
from web.extensions import db, limiter


def _form(channel: Channel, **kwargs) -> PersonalApplicationForm:
    return PersonalApplicationForm(
        products=catalogue.products_for(db.session, channel, CertKind.PERSONAL),
        media_models=catalogue.media_models(db.session),
        **kwargs,
    )


def _page(form: PersonalApplicationForm, channel: Channel, order: Order | None):
    return render_template("public/personal_apply.html", form=form, channel=channel, order=order,
                           captcha_token=captcha.new_token())


@limiter.limit("30/minute", methods=["POST"])
def new_personal_application(channel_code: str):
    channel = views._channel(channel_code)
    form = _form(channel)
    if request.method == "POST":
        valid = form.validate()
        if views._captcha_ok(form) and valid:
            order = operations.submit_application(db.session, channel, form.data, actor=views._actor(),
                                                  applicant_secret=views.applicant_secret())
            return redirect(url_for("public.confirm_page", number=order.number))
    return _page(form, channel, None)


@limiter.limit("30/minute", methods=["POST"])
def edit_personal_application(number: str):
    """'Return to edit' of a personal application: the same order (and number) takes the corrections."""
    order = views.owned_order(number)
    if not order.personal or order.business_type is not BusinessType.NEW:  # no form of this page's
        return redirect(url_for("public.confirm_page", number=number))
    if order.status not in operations.APPLICANT_EDITABLE:
        return redirect(url_for("public.done_page", number=number))
    if request.method == "POST":
        form = _form(order.channel)
        valid = form.validate()
        if views._captcha_ok(form) and valid:
            operations.update_application(db.session, order, form.data, actor=views._actor())
            return redirect(url_for("public.confirm_page", number=order.number))
    else:
        form = _form(order.channel, data=operations.form_data(order))
    return _page(form, order.channel, order)
