"""An order's renewal reminders on its console page: whether its applicant (the organisation by credit
code, a personal certificate's holder) gets them, and the button that stops them or turns them back on,
as the applicant asked on the phone (notifications.opt_outs; audited under the staff member's name)."""
from __future__ import annotations

from types import SimpleNamespace

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from models import REVIEW_ROLES, Order, StaffRole
from notifications import opt_outs
from review.audit_sentences import display_names, who
from review.forms import RemindersForm
from web.extensions import db
from web.guards import roles_required

# Whoever answers an applicant's call about an order: the reviewers, and the admins.
REMINDER_KEEPERS = (*sorted(REVIEW_ROLES), StaffRole.ADMIN)


def reminders_of(order: Order) -> SimpleNamespace | None:
    """What the order page says of the reminders; None when the order names no applicant any more."""
    if opt_outs.applicant_of(order) is None:
        return None
    opt_out = opt_outs.opt_out_of(db.session, order)
    return SimpleNamespace(stopped=opt_out is not None, since=opt_out and opt_out.opted_out_at,
                           by=opt_out and who(opt_out.opted_out_by, _staff_name(opt_out.opted_out_by)),
                           form=RemindersForm() if current_user.role in REMINDER_KEEPERS else None)


def _staff_name(actor: str) -> dict[str, str]:
    """{username: display name} of the staff member the actor names, if it names one."""
    kind, _sep, username = actor.partition(":")
    return display_names(db.session, [username] if kind == "staff" else [])


@roles_required(*REMINDER_KEEPERS)
def set_reminders(number: str):
    order = db.session.scalar(select(Order).where(Order.number == number)) or abort(404)
    form = RemindersForm()
    if not form.validate_on_submit():
        abort(400)
    out = form.reminders.data == "off"
    if opt_outs.set_opt_out(db.session, order, out, actor=current_user.actor):
        flash(_("Renewal reminders stopped for this applicant.") if out
              else _("Renewal reminders are on again for this applicant."), "success")
    elif opt_outs.applicant_of(order) is None:
        flash(_("This order no longer names its applicant: its reminders cannot be changed."), "error")
    else:
        flash(_("Nothing changed: the renewal reminders were already off.") if out
              else _("Nothing changed: the renewal reminders were already on."), "info")
    return redirect(url_for("review.order_page", number=order.number, _anchor="renewal-reminders"))
