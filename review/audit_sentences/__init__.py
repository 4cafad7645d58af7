"""The audit log read as sentences: who did what, in the staff member's language.

`sentence(entry, staff_names)` turns one AuditEntry into one sentence (Flask-Babel, English msgids);
`staff_names(session, entries)` looks up, once for a page, the display names of the staff members the
entries name. SENTENCES has one function per action the product writes; an action it does not know
reads "<who>: <action>", so nothing is lost (the raw record stays on the page, folded away).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from models import Staff
from review.audit_sentences import certificates, messages, money, operations, orders, staff, station
from review.audit_sentences.words import STAFF, Writer, get, named_actor, who

__all__ = ["SENTENCES", "display_names", "sentence", "staff_names", "who"]


SENTENCES: dict[str, Writer] = {**orders.SENTENCES, **certificates.SENTENCES, **station.SENTENCES,
                                **money.SENTENCES, **staff.SENTENCES, **operations.SENTENCES, **messages.SENTENCES}


def staff_names(session, entries: Iterable[Any]) -> dict[str, str]:
    """username -> display name of every staff member the entries name (as actor, target, or the
    reviewer of a reassignment), in one query."""
    usernames: set[str] = set()
    for entry in entries:
        for value in (entry.actor, entry.target):
            if value and value.startswith(STAFF):
                usernames.add(value[len(STAFF):])
        if entry.action == "order.reassigned":
            usernames.update(v for v in (get(entry.before, "reviewer"), get(entry.after, "reviewer")) if v)
        for actor in (get(entry.after, "requested_by"), get(entry.after, "confirmed_by")):
            if isinstance(actor, str) and actor.startswith(STAFF):
                usernames.add(actor[len(STAFF):])
    return display_names(session, usernames)


def display_names(session, usernames: Iterable[str]) -> dict[str, str]:
    """username -> display name of those staff members, in one query (none for no usernames)."""
    usernames = set(usernames)
    if not usernames:
        return {}
    rows = session.execute(select(Staff.username, Staff.display_name).where(Staff.username.in_(usernames)))
    return {username: display_name for username, display_name in rows}


def sentence(entry, staff_names: dict[str, str]) -> str:
    """One sentence for the entry, in the current language."""
    name, ours = named_actor(entry.actor, staff_names)
    write = SENTENCES.get(entry.action)
    text = write(entry, name, staff_names) if write else fallback(entry, name)
    if ours and text.startswith(name):
        text = text[:1].upper() + text[1:]
    return text


def fallback(entry, name: str) -> str:
    return _("%(who)s: %(action)s", who=name, action=entry.action)

