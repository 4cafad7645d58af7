"""Audit sentences of what the applicant was sent: reminders, and messages sent again."""
from __future__ import annotations

from flask_babel import gettext as _

from review.audit_sentences.words import (
    Writer,
    get,
    phrase,
    target_of,
)


def _materials_reminded(e, w, n):
    return _("%(who)s reminded the applicant of the materials asked for (day %(day)s of the request).", who=w,
             day=get(e.after, "day", ""))


REMINDER_STAGES = {
    "days_90": lambda: _("90 days before it expires"),
    "days_30": lambda: _("30 days before it expires"),
    "days_7": lambda: _("7 days before it expires"),
    "expired": lambda: _("the day after it expired"),
}


def _renewal_reminded(e, w, n):
    stage = get(e.after, "stage", "")
    return _("%(who)s reminded the applicant to renew certificate %(serial)s, %(when)s (%(expires)s).", who=w,
             serial=target_of(e, "certificate"), when=phrase(REMINDER_STAGES, stage),
             expires=get(e.after, "expires", ""))


def _renewal_opted_out(e, w, n):
    return _("%(who)s turned the applicant's renewal reminders off.", who=w)


def _renewal_opted_in(e, w, n):
    return _("%(who)s turned the applicant's renewal reminders back on.", who=w)


def _outbox_resent(e, w, n):
    channels = {"sms": _("SMS"), "email": _("e-mail"), "transfer": _("0.01-yuan transfer")}
    channel = get(e.after, "channel", "")
    return _("%(who)s sent the %(channel)s %(kind)s (%(message)s) again, as a new send (%(copy)s).", who=w,
             channel=channels.get(channel, channel), kind=get(e.after, "kind", ""), message=e.target or "",
             copy=get(e.after, "copy", ""))


SENTENCES: dict[str, Writer] = {
    "material_request.reminded": _materials_reminded,
    "renewal.reminded": _renewal_reminded,
    "renewal.opted_out": _renewal_opted_out,
    "renewal.opted_in": _renewal_opted_in,
    "outbox.resent": _outbox_resent,
}
