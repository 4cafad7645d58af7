"""Controllers of renewal (证书更新) by post: the order query's 更新 beside an order whose certificate may be
renewed opens a choice, the key at this PC (the key helper: public.renewal_views) or by post. By post: the
renewal form and its confirmation (the same templates), then the application's own signature and payment
pages; the key mailed in is programmed at the station and mailed back with a new password
(public.renewal)."""
from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext

from models.base import utcnow
from public import order_query as queries
from public import query_views, renewal, views
from public.renewal_views import DRAFTS, draft_of, form_for, offer, seal_names
from web.extensions import db, limiter


def _renewable(number: str):
    """(the earlier order, its certificate to renew, None), or (…, a redirect) when the order query's
    identity is missing or the order offers no renewal now."""
    identity = queries.identity_from(session.get(query_views.VERIFIED), now=utcnow())
    if identity is None:
        return None, None, redirect(url_for("public.order_query"))
    earlier = queries.order_of(db.session, identity, number) or abort(404)
    certificate = renewal.certificate_to_renew(db.session, identity, earlier)
    if certificate is None:
        flash(gettext("Order %(number)s has no certificate to renew now.", number=earlier.number), "error")
        return earlier, None, redirect(url_for("public.query_results"))
    return earlier, certificate, None


def _private(html: str):
    response = make_response(html)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@limiter.limit("30/minute")
def renewal_choice(number: str):
    earlier, certificate, elsewhere = _renewable(number)
    if elsewhere is not None:
        return elsewhere
    return _private(render_template(
        "public/renewal_choice.html", earlier=earlier, certificate=certificate,
        password_wording=query_views.PASSWORD_WORDING[queries.password_method(earlier)],
        **offer(certificate, earlier)))


def _draft_key(number: str) -> str:
    return f"post:{number}"


@limiter.limit("30/minute", methods=["POST"])
def renewal_post_form(number: str):
    earlier, certificate, elsewhere = _renewable(number)
    if elsewhere is not None:
        return elsewhere
    key = _draft_key(earlier.number)
    form = form_for(earlier, session.get(DRAFTS, {}).get(key) or renewal.contact_values(earlier))
    if request.method == "POST" and form.validate():
        session[DRAFTS] = {**session.get(DRAFTS, {}), key: draft_of(form, earlier)}
        return redirect(url_for("public.renewal_post_confirm", number=earlier.number))
    return _private(render_template(
        "public/renewal_form.html", form=form, earlier=earlier, certificate=certificate, by_post=True,
        form_url=url_for("public.renewal_post_form", number=earlier.number), **offer(certificate, earlier)))


@limiter.limit("30/minute", methods=["POST"])
def renewal_post_confirm(number: str):
    earlier, certificate, elsewhere = _renewable(number)
    if elsewhere is not None:
        return elsewhere
    key = _draft_key(earlier.number)
    draft = session.get(DRAFTS, {}).get(key)
    if draft is None:
        return redirect(url_for("public.renewal_post_form", number=earlier.number))
    terms = offer(certificate, earlier)
    if request.method == "POST" and terms["price_cents"] is not None:
        order = renewal.submit_renewal_by_post(db.session, earlier, certificate, draft, actor=views._actor(),
                                               applicant_secret=views.applicant_secret())
        session[DRAFTS] = {k: v for k, v in session.get(DRAFTS, {}).items() if k != key}
        return redirect(url_for("public.signature_page", number=order.number))
    return _private(render_template(
        "public/renewal_confirm.html", earlier=earlier, draft=draft, certificate=certificate, by_post=True,
        form_url=url_for("public.renewal_post_form", number=earlier.number),
        confirm_url=url_for("public.renewal_post_confirm", number=earlier.number),
        seal_names=seal_names(draft), **terms))
