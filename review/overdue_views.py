"""Controller of the overdue list: every item past its SLA target across the queues, by due time,
where the senior reviewer's overdue badge leads."""
from __future__ import annotations

from flask import current_app, render_template, request, url_for
from flask_login import current_user

from models import StaffRole
from models.base import utcnow
from review import queues
from review.navigation import QUEUE_LABELS, request_calendar
from web.extensions import db
from web.guards import roles_required
from web.request_guard import bounded_int


@roles_required(StaffRole.SENIOR_REVIEWER)
def overdue():
    size = current_app.config["QUEUE_PAGE_SIZE"]
    page = queues.overdue_page(db.session, current_user, calendar=request_calendar(), now=utcnow(),
                               after=queues.Cursor.decode(request.args.get("after")),
                               before=queues.Cursor.decode(request.args.get("before")), size=size)
    number = max(request.args.get("p", 1, type=bounded_int), 1)
    return render_template(
        "console/overdue.html", page=page, page_number=number, first_row=(number - 1) * size + 1,
        queue_labels=QUEUE_LABELS,
        next_url=page.next_cursor and url_for("review.overdue", after=page.next_cursor.encode(), p=number + 1),
        prev_url=page.prev_cursor and url_for("review.overdue", before=page.prev_cursor.encode(),
                                              p=max(number - 1, 1)))
