"""Audit sentences of the order: its making, edits, status, reviewers, what was viewed and revealed."""
from __future__ import annotations

from flask_babel import gettext as _

from review.audit_sentences.words import (
    Writer,
    get,
    kinds_of,
    listed,
    phrase,
    target_of,
    with_note,
)
from review.operations import REVEALED
from web.labels import label


def _order_created(e, w, n):
    return _("%(who)s created the order %(number)s.", who=w, number=get(e.after, "number", ""))


def _risk_overridden(e, w, n):
    return _("%(who)s overrode the deny-list match: %(why)s", who=w, why=e.note or "")


def _note_added(e, w, n):
    return _("%(who)s added an internal note.", who=w)


def _order_edited(e, w, n):
    return _("%(who)s edited the application.", who=w)


def _order_rebound(e, w, n):
    return _("%(who)s went on with the application in another browser, found by the order query.", who=w)


def _order_status(e, w, n):
    before, after = get(e.before, "status", ""), get(e.after, "status", "")
    note = e.note or ""
    if note == "claimed":
        return _("%(who)s claimed the order for review.", who=w)
    if note == "released":
        return _("%(who)s released the order back to its queue.", who=w)
    if note.startswith("assigned to "):
        username = note[len("assigned to "):]
        return _("%(who)s assigned the order to %(reviewer)s for review.", who=w,
                 reviewer=n.get(username) or username)
    if note.startswith("first approval"):
        return _("%(who)s gave the first approval; a second senior reviewer must approve.", who=w)
    if after == "approved":
        return _("%(who)s approved the order.", who=w)
    if after == "rejected":
        reasons = "; ".join(part.strip() for part in note.split(";") if part.strip())
        return (_("%(who)s rejected the order: %(reasons)s", who=w, reasons=reasons) if reasons
                else _("%(who)s rejected the order.", who=w))
    if after == "more_materials_needed":
        return _("%(who)s asked the applicant for more materials: %(kinds)s.", who=w, kinds=kinds_of(note))
    if after == "cancelled" and note.startswith("more materials not sent by "):
        return _("%(who)s cancelled the order: the materials asked for were not sent by %(date)s.", who=w,
                 date=note[len("more materials not sent by "):])
    if note.startswith("materials re-submitted: "):
        return _("%(who)s sent the requested materials again: %(kinds)s.", who=w,
                 kinds=kinds_of(note[len("materials re-submitted: "):]))
    text = _("%(who)s moved the order from “%(before)s” to “%(after)s”.", who=w, before=label(before),
             after=label(after))
    return with_note(text, note)


def _order_reassigned(e, w, n):
    before, after = get(e.before, "reviewer"), get(e.after, "reviewer", "")
    if before:
        return _("%(who)s reassigned the order from %(before)s to %(after)s.", who=w,
                 before=n.get(before) or before, after=n.get(after) or after)
    return _("%(who)s assigned the order to %(reviewer)s for review.", who=w, reviewer=n.get(after) or after)


def _order_viewed(e, w, n):
    return _("%(who)s opened the order.", who=w)


REVEALED_FIELDS = {
    "legal_rep_id_number": lambda: _("the legal representative's ID number"),
    "agent_id_number": lambda: _("the agent's ID number"),
    "account_number": lambda: _("the organisation's bank account number"),
    "legal_rep_bank_card": lambda: _("the legal representative's bank card number"),
    "agent_bank_card": lambda: _("the agent's bank card number"),
}


def _number_revealed(e, w, n):
    field = get(e.after, "field", "")
    return _("%(who)s revealed %(field)s.", who=w,
             field=phrase(REVEALED_FIELDS, field))


def _identity_checked(e, w, n):
    results = listed(_("%(check)s: %(outcome)s", check=label(method), outcome=label(outcome))
                    for method, outcome in (e.after or {}).items())
    return _("%(who)s ran the identity checks: %(results)s.", who=w, results=results or "-")


def _material_viewed(e, w, n):
    return _("%(who)s viewed document %(id)s.", who=w, id=target_of(e, "material"))


def _material_uploaded(e, w, n):
    kind = label(get(e.after, "kind", ""))
    if get(e.after, "replaces"):
        return _("%(who)s uploaded %(kind)s again, replacing the earlier copy.", who=w, kind=kind)
    return _("%(who)s uploaded %(kind)s.", who=w, kind=kind)


def _password_card_printed(e, w, n):
    card = get(e.after, "card", "")
    if get(e.after, "reprint"):
        return _("%(who)s printed password card %(card)s again.", who=w, card=card)
    if get(e.after, "with_pin"):
        return _("%(who)s printed password card %(card)s with the certificate password.", who=w, card=card)
    return _("%(who)s printed password card %(card)s.", who=w, card=card)


def _password_destroyed(e, w, n):
    return with_note(_("%(who)s erased the certificate password kept for the order.", who=w), e.note)


SENTENCES: dict[str, Writer] = {
    "order.created": _order_created,
    "order.edited": _order_edited,
    "order.note_added": _note_added,
    "order.risk_overridden": _risk_overridden,
    "order.rebound": _order_rebound,
    "order.status": _order_status,
    "order.reassigned": _order_reassigned,
    "order.viewed": _order_viewed,
    REVEALED: _number_revealed,
    "order.password_card_printed": _password_card_printed,
    "order.password_destroyed": _password_destroyed,
    "identity.checked": _identity_checked,
    "material.viewed": _material_viewed,
    "material.uploaded": _material_uploaded,
}
