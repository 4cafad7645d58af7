"""Audit sentences of staff accounts and the admin."""
from __future__ import annotations

from flask_babel import gettext as _

from review.audit_sentences.words import (
    Writer,
    get,
    listed,
    who,
    with_note,
)


def _staff_absent(e, w, n):
    return _("%(who)s marked %(whom)s absent.", who=w, whom=_target_name(e, n))


def _staff_back(e, w, n):
    return _("%(who)s marked %(whom)s back at work.", who=w, whom=_target_name(e, n))


def _target_name(e, n) -> str:
    username = (e.target or "").removeprefix("staff:")
    return n.get(username, username)


def _staff_target(e, n) -> str:
    return who(e.target, n)


def _staff_created(e, w, n):
    return _("%(who)s created the staff account %(name)s (%(role)s).", who=w,
             name=get(e.after, "display_name") or _staff_target(e, n), role=get(e.after, "role", ""))


def _staff_login(e, w, n):
    return _("%(who)s signed in.", who=w)


def _staff_logout(e, w, n):
    if e.note == "idle timeout":
        return _("%(who)s was signed out after a time without activity.", who=w)
    return _("%(who)s signed out.", who=w)


def _staff_login_failed(e, w, n):
    return _("%(who)s failed to sign in as %(staff)s (step: %(stage)s).", who=w, staff=_staff_target(e, n),
             stage=e.note or "")


def _staff_locked(e, w, n):
    text = _("%(staff)s was locked out after failed sign-ins (%(who)s).", who=w, staff=_staff_target(e, n))
    return with_note(text, e.note)


def _staff_totp_reset(e, w, n):
    return _("%(who)s reset the second factor of %(staff)s.", who=w, staff=_staff_target(e, n))


def _staff_unlocked(e, w, n):
    return _("%(who)s lifted the lock-out of %(staff)s.", who=w, staff=_staff_target(e, n))


def _admin_change(e, w, n):
    if e.note == "create":
        return _("%(who)s created %(target)s in the admin.", who=w, target=e.target or "")
    fields = listed(sorted((e.after or {}).keys()))
    return _("%(who)s changed %(fields)s of %(target)s in the admin.", who=w, fields=fields or "-",
             target=e.target or "")


SENTENCES: dict[str, Writer] = {
    "staff.created": _staff_created,
    "staff.absent": _staff_absent,
    "staff.back": _staff_back,
    "staff.login": _staff_login,
    "staff.logout": _staff_logout,
    "staff.login_failed": _staff_login_failed,
    "staff.locked": _staff_locked,
    "staff.totp_reset": _staff_totp_reset,
    "staff.unlocked": _staff_unlocked,
    "admin.change": _admin_change,
}
