"""The returned keys page (fulfillment and admin): a key sent back by post once its certificate is
revoked is scanned while it is plugged in at a station, whose agent wipes it (station.returns); the
page lists the keys received and what became of them."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from models import ReturnStatus, StaffRole
from station import returns
from station.forms import KeyReturnForm
from web.errors import UserError
from web.extensions import db
from web.guards import roles_required

STAFF = (StaffRole.FULFILLMENT, StaffRole.ADMIN)


def _page(form: KeyReturnForm, status: int = 200):
    listed = returns.recent(db.session)
    working = any(r.status in (ReturnStatus.QUEUED, ReturnStatus.RUNNING) for r in listed)
    return render_template("station/returns.html", form=form, returns=listed, working=working), status


@roles_required(*STAFF)
def returns_page():
    return _page(KeyReturnForm(formdata=None))


@roles_required(*STAFF)
def receive_return():
    form = KeyReturnForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        returned = returns.receive(db.session, form.serial.data, current_user)
    except UserError as refused:
        form.serial.errors = [_(refused.message, **refused.params)]
        return _page(form, 422)
    if returned.from_shelf:
        flash(_("Key %(serial)s received: station %(station)s wipes it now, then it goes back on the shelf.",
                serial=returned.token.serial, station=returned.station.name), "success")
    else:
        flash(_("Key %(serial)s received: station %(station)s wipes it now. It is the applicant's own key: once "
                "wiped, keep it for the applicant to pick up, or send it back to them.",
                serial=returned.token.serial, station=returned.station.name), "success")
    return redirect(url_for("station.returns_page"))
