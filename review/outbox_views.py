"""Controllers of the notification centre: every SMS, e-mail and 0.01-yuan transfer the outboxes
hold (sandbox or real), and a message sent again by hand.

Senior reviewers and admins see the centre, download what it lists as CSV, and may send a message
again; a message carrying a password (the certificate password's SMS or transfer, a key's new PIN)
only a senior reviewer, who answers for the applicant's passwords (notifications.centre says what
else is refused).

The download holds the rows of the screen for the same filters, masked as there, and never a
message's text. It is built in memory, so it is bounded: when more than EXPORT_LIMIT messages
match, nothing is downloaded and the page asks for fewer days.
"""
from __future__ import annotations

import re
from functools import cache

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from models import Delivery, StaffRole
from models.base import utcnow
from models.business_time import BUSINESS_TZ
from notifications import centre
from reports import exports
from review.dashboard_views import asked_days
from review.forms import ActionForm
from web.downloads import private_download
from web.extensions import db
from web.guards import has_role, roles_required
from web.labels import delivery_label, message_label
from web.request_guard import bounded_int

VIEWERS = (StaffRole.SENIOR_REVIEWER, StaffRole.ADMIN)
SECRET_SENDERS = (StaffRole.SENIOR_REVIEWER,)
PAGE_SIZE = 50
EXPORT_LIMIT = 50_000  # rows of one download (measured: README, notification centre)
FILTERS = ("number", "phone", "channel", "status", "from", "to")


def _filter() -> tuple[centre.OutboxFilter, list[str]]:
    """The filters the query string asks for, and what was wrong with it (a day that is not a date
    filters nothing)."""
    channel = request.args.get("channel")
    try:
        status = Delivery(request.args.get("status") or "")
    except ValueError:
        status = None
    first, last, errors = asked_days(None, None)
    return centre.OutboxFilter(
        number=(request.args.get("number") or "").strip()[:32] or None,
        phone=re.sub(r"\D", "", request.args.get("phone") or "")[:20] or None,
        channel=channel if channel in centre.OUTBOXES else None,
        status=status, first=first, last=last), errors


def _kept() -> dict[str, str]:
    """The filters, for the pager, the download and coming back after sending again."""
    return {key: value for key, value in request.args.items() if key in FILTERS and value}


@roles_required(*VIEWERS)
def messages():
    number = max(request.args.get("p", 1, type=bounded_int), 1)
    flt, errors = _filter()
    page = centre.outbox_page(db.session, flt, number, PAGE_SIZE)
    return render_template("console/messages.html", page=page, flt=flt, errors=errors, args=_kept(),
                           statuses=list(Delivery), channels=list(centre.OUTBOXES), form=ActionForm(),
                           secrets_allowed=has_role(current_user, *SECRET_SENDERS))


@roles_required(*VIEWERS)
def messages_csv():
    flt, errors = _filter()
    if errors:  # the page says what is wrong; a download would quietly ignore it
        return redirect(url_for("review.messages", **_kept()))
    listed = centre.outbox_page(db.session, flt, 1, EXPORT_LIMIT)
    if listed.has_next:
        flash(_("More than %(n)s messages match: choose fewer days to download them.", n=f"{EXPORT_LIMIT:,}"),
              "warning")
        return redirect(url_for("review.messages", **_kept()))
    headers = [_("No."), _("Queued (Beijing time)"), _("Sent"), _("Order no."), _("Message"), _("To"),
               _("Request no."), _("Status"), _("Attempts"), _("Next attempt"), _("Last error"), _("Copy of"),
               _("Sent again as")]
    what, state = cache(message_label), cache(delivery_label)  # the same few labels on every row
    rows = [(m.id, m.created_at, m.sent_at, m.order_number, what(m.channel, m.kind), m.to, m.request_no,
             state(m.status), m.attempts, m.next_attempt_at, m.error, m.resent_from_id,
             " ".join(str(copy) for copy in m.copies)) for m in listed.rows]
    today = utcnow().astimezone(BUSINESS_TZ).date()
    return private_download(exports.csv_bytes(headers, rows), f"messages-{today:%Y%m%d}.csv", "text/csv")


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
