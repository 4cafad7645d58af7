"""Who is at work: senior reviewers see the reviewers, their last sign-in, and mark one absent or
back (re-submitted materials go back to the reviewer who asked for them only while they are at work)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from models import REVIEW_ROLES, Staff, StaffRole
from models.base import utcnow
from review import operations
from review.forms import ActionForm
from review.navigation import request_calendar
from web.extensions import db
from web.guards import roles_required


@roles_required(StaffRole.SENIOR_REVIEWER)
def reviewers():
    staff = db.session.scalars(select(Staff).where(Staff.role.in_(REVIEW_ROLES), Staff.active.is_(True))
                               .order_by(Staff.display_name)).all()
    calendar, now = request_calendar(), utcnow()
    return render_template("console/reviewers.html", staff=staff, action_form=ActionForm(),
                           at_work={s.id: operations.at_work(s, calendar, now) for s in staff},
                           hours=operations.RETURN_TO_ASKER_HOURS)


@roles_required(StaffRole.SENIOR_REVIEWER)
def mark_absent(staff_id: int, absent: bool = True):
    member = db.session.get(Staff, staff_id) or abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        operations.mark_absent(db.session, member, current_user, absent)
    except operations.ReviewError as exc:
        flash(_(exc.message, **exc.params), "error")
    return redirect(url_for("review.reviewers"))


@roles_required(StaffRole.SENIOR_REVIEWER)
def mark_back(staff_id: int):
    return mark_absent(staff_id, absent=False)
