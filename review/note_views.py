"""Controller of internal notes on an order: add one, then back to the order's page (notes are
read there). A refused note is flashed with its reason and its text kept for the page."""
from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from models import Order
from review import context
from review.note_forms import NoteForm, keep_draft
from web.errors import UserError
from web.extensions import db
from web.guards import roles_required


@roles_required(*context.NOTE_WRITERS)
def add_note(number: str):
    order = db.session.scalar(select(Order).where(Order.number == number)) or abort(404)
    form = NoteForm()
    back = redirect(url_for("review.order_page", number=order.number, _anchor="internal-notes"))
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        for message in form.note_text.errors:
            flash(_("The note was not added: %(error)s", error=message), "error")
        keep_draft(order.number, form.note_text.data)
        return back
    try:
        context.add_note(db.session, order, current_user, form.note_text.data)
    except UserError as exc:
        flash(_("The note was not added: %(error)s", error=_(exc.message, **exc.params)), "error")
        keep_draft(order.number, form.note_text.data)
    else:
        flash(_("Note added."), "success")
    return back
