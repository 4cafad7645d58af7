"""Controllers of the link in a renewal reminder e-mail (public.reminder_links): the page asks before it
stops the applicant's reminders, and once they are off offers to turn them back on. Each POST goes back
to the page (no form sent twice by a reload). A link that is not ours, was altered, has expired or no
longer fits its order is a 404 and changes nothing."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select

from models import Order
from models.sealed import mask
from notifications import opt_outs
from public.reminder_links import read_stop_token
from web.error_pages import PageError
from web.extensions import db, limiter

ACTOR = "applicant:unsubscribe-link"


def _order_of(token: str) -> Order:
    """The order the link names, its applicant still the one the link names."""
    named = read_stop_token(token)
    order = named and db.session.scalar(select(Order).where(Order.number == named[1]))
    if order is None or opt_outs.applicant_of(order) != named[0]:
        raise PageError(404, message=gettext(
            "This link is not valid: it has expired or was changed, so nothing was done. To stop or resume the "
            "renewal reminders, please call %(phone)s.", phone=current_app.config["CA_SERVICE_PHONE"]))
    return order


@limiter.limit("10/minute", methods=["POST"])
def stop_reminders(token: str):
    order = _order_of(token)
    if request.method == "POST":
        opt_outs.set_opt_out(db.session, order, True, actor=ACTOR)
        flash(gettext("Done: no more renewal reminders will be sent."), "success")
        return redirect(url_for("public.stop_reminders", token=token))
    stopped = opt_outs.opt_out_of(db.session, order) is not None
    return render_template("public/reminders_stop.html", token=token, number=mask(order.number, 4, 4),
                           personal=order.personal, stopped=stopped)


@limiter.limit("10/minute")
def resume_reminders(token: str):
    order = _order_of(token)
    opt_outs.set_opt_out(db.session, order, False, actor=ACTOR)
    flash(gettext("Done: the renewal reminders will be sent again."), "success")
    return redirect(url_for("public.stop_reminders", token=token))
