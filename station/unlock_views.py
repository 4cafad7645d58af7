"""The locked keys page (fulfillment and admin): a key locked by wrong user PINs and mailed in is
scanned while it is plugged in at a station, whose agent unlocks it (station.unlocks); the page lists
the keys received and what became of them. The new key password is never shown: it goes by SMS."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from models import UnlockStatus
from station import unlocks
from station.forms import KeyReturnForm
from station.return_views import STAFF
from web.errors import UserError
from web.extensions import db
from web.guards import roles_required


def _page(form: KeyReturnForm, status: int = 200):
    listed = unlocks.recent(db.session)
    working = any(u.status in (UnlockStatus.QUEUED, UnlockStatus.RUNNING) for u in listed)
    return render_template("station/unlocks.html", form=form, unlocks=listed, working=working), status


@roles_required(*STAFF)
def unlocks_page():
    return _page(KeyReturnForm(formdata=None))


@roles_required(*STAFF)
def receive_unlock():
    form = KeyReturnForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        unlock = unlocks.receive(db.session, form.serial.data, current_user)
    except UserError as refused:
        form.serial.errors = [_(refused.message, **refused.params)]
        return _page(form, 422)
    flash(_("Key %(serial)s received: station %(station)s unlocks it now.", serial=unlock.token.serial,
            station=unlock.station.name), "success")
    return redirect(url_for("station.unlocks_page"))
