"""Controllers of renewal (证书更新) online: the home page's service opens a key page (public.key_views)
where the key helper logs in with the key password; then the form (contact data, seal services), the
confirmation with 'return to edit', and the application's own signature and payment pages. Once paid
the key page shows the new certificate being made on the key."""
from __future__ import annotations

from flask import redirect, render_template, request, session, url_for

from models import HelperPurpose
from models.business import SEAL_SERVICES
from models.order_state import BusinessType
from public import key_views, renewal, views
from public.key_forms import SEAL_SERVICE_LABELS, PersonalRenewalForm, RenewalForm
from web.database import writes
from web.extensions import db, limiter

DRAFTS = "renewal_drafts"  # the form's values by helper session, until the order is made


@limiter.limit("20/minute")
@writes
def renewal_start(channel_code: str):
    return key_views.open_page(views._channel(channel_code), HelperPurpose.RENEWAL)


def _logged_in(public_id: str):
    helper = key_views.own_session(public_id)
    if helper.purpose is not HelperPurpose.RENEWAL or helper.logged_in_at is None:
        return helper, redirect(url_for("public.key_page", public_id=helper.public_id))
    if helper.order is not None:
        return helper, redirect(url_for("public.signature_page", number=helper.order.number))
    return helper, None


def draft_of(form: RenewalForm | PersonalRenewalForm, earlier) -> dict:
    """What the form keeps until the order is made: 'return to edit' shows it again, consent included."""
    return {name: getattr(form, name).data for name in (*renewal.contact_fields(earlier), "seal_services", "consent")}


def form_for(earlier, values=None) -> RenewalForm | PersonalRenewalForm:
    """The renewal form of the earlier order's certificate: a unit's, or a person's."""
    form_class = PersonalRenewalForm if earlier.personal else RenewalForm
    return form_class(request.form if request.method == "POST" else None, data=values,
                      seal_services=SEAL_SERVICES[BusinessType.RENEWAL])


@limiter.limit("30/minute", methods=["POST"])
def renewal_form(public_id: str):
    helper, elsewhere = _logged_in(public_id)
    if elsewhere is not None:
        return elsewhere
    earlier = renewal.earlier_order(db.session, helper)
    draft = session.get(DRAFTS, {}).get(helper.public_id)
    form = form_for(earlier, draft or renewal.contact_values(earlier))
    if request.method == "POST" and form.validate():
        session[DRAFTS] = {**session.get(DRAFTS, {}), helper.public_id: draft_of(form, earlier)}
        return redirect(url_for("public.renewal_confirm", public_id=helper.public_id))
    return render_template("public/renewal_form.html", form=form, earlier=earlier, certificate=helper.certificate,
                           form_url=url_for("public.renewal_form", public_id=helper.public_id),
                           **offer(helper.certificate, earlier))


def offer(certificate, earlier) -> dict:
    """What the renewal gives and costs (the form's and confirmation's _renewal_certificate.html)."""
    start, end = renewal.new_validity(certificate, earlier.product.validity_months)
    return {"price_cents": renewal.price_cents(db.session, earlier), "new_start": start, "new_end": end}


@limiter.limit("30/minute", methods=["POST"])
@writes
def renewal_confirm(public_id: str):
    helper, elsewhere = _logged_in(public_id)
    if elsewhere is not None:
        return elsewhere
    draft = session.get(DRAFTS, {}).get(helper.public_id)
    if draft is None:
        return redirect(url_for("public.renewal_form", public_id=helper.public_id))
    earlier = renewal.earlier_order(db.session, helper)
    terms = offer(helper.certificate, earlier)
    if request.method == "POST" and terms["price_cents"] is not None:
        order = renewal.submit_renewal(db.session, helper, draft, actor=views._actor(),
                                       applicant_secret=views.applicant_secret())
        session[DRAFTS] = {k: v for k, v in session.get(DRAFTS, {}).items() if k != helper.public_id}
        return redirect(url_for("public.signature_page", number=order.number))
    return render_template("public/renewal_confirm.html", earlier=earlier, draft=draft, certificate=helper.certificate,
                           form_url=url_for("public.renewal_form", public_id=helper.public_id),
                           confirm_url=url_for("public.renewal_confirm", public_id=helper.public_id),
                           seal_names=seal_names(draft), **terms)


def seal_names(draft: dict) -> list[str]:
    return [str(SEAL_SERVICE_LABELS[code]) for code in draft["seal_services"]]
