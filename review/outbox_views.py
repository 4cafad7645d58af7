"""Controllers of the notification centre: every SMS, e-mail and 0.01-yuan transfer the outboxes
hold (sandbox or real), and a message sent again by hand.

Senior reviewers and admins see the centre and may send a message again; a message carrying a
password (the certificate password's SMS or transfer, a key's new PIN) only a senior reviewer,
who answers for the applicant's passwords (notifications.centre says what else is refused).
"""
from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from models import Delivery, StaffRole
from notifications import centre
from review.forms import ActionForm
from web.extensions import db
from web.guards import has_role, roles_required
from web.request_guard import bounded_int

VIEWERS = (StaffRole.SENIOR_REVIEWER, StaffRole.ADMIN)
SECRET_SENDERS = (StaffRole.SENIOR_REVIEWER,)
PAGE_SIZE = 50


def _filter() -> centre.OutboxFilter:
    channel = request.args.get("channel")
    try:
        status = Delivery(request.args.get("status") or "")
    except ValueError:
        status = None
    return centre.OutboxFilter(
        number=(request.args.get("number") or "").strip()[:32] or None,
        phone=re.sub(r"\D", "", request.args.get("phone") or "")[:20] or None,
        channel=channel if channel in centre.OUTBOXES else None,
        status=status)


def _kept() -> dict[str, str]:
    """The filters, for the pager and for coming back after sending again."""
    return {key: value for key, value in request.args.items() if key in ("number", "phone", "channel", "status")
            and value}


@roles_required(*VIEWERS)
def messages():
    number = max(request.args.get("p", 1, type=bounded_int), 1)
    page = centre.outbox_page(db.session, _filter(), number, PAGE_SIZE)
    return render_template("console/messages.html", page=page, args=_kept(), statuses=list(Delivery),
                           channels=list(centre.OUTBOXES), form=ActionForm(),
                           secrets_allowed=has_role(current_user, *SECRET_SENDERS))


@roles_required(*VIEWERS)
def resend_message(outbox: str, message_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    model = centre.OUTBOXES.get(outbox) or abort(404)
    row = db.session.get(model, message_id) or abort(404)
    try:
        centre.send_again(db.session, row, current_user.actor,
                          secrets_allowed=has_role(current_user, *SECRET_SENDERS))
    except centre.ResendRefused as exc:
        flash(_(exc.message, **exc.params), "warning")
    else:
        flash(_("Sent again: a new copy waits in the outbox, which delivers it and retries it as any other."),
              "success")
    return redirect(url_for("review.messages", **_kept()))
