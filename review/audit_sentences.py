"""The audit log read as sentences: who did what, in the staff member's language.

`sentence(entry, staff_names)` turns one AuditEntry into one sentence (Flask-Babel, English msgids);
`staff_names(session, entries)` looks up, once for a page, the display names of the staff members the
entries name. SENTENCES has one function per action the product writes; an action it does not know
reads "<who>: <action>", so nothing is lost (the raw record stays on the page, folded away).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from models import RevocationReason, Staff
from models.audit_chain import RESTORE_ACTION
from review.forms import REVOCATION_REASONS
from review.operations import REVEALED
from web.labels import billing_label, label

STAFF = "staff:"


def staff_names(session, entries: Iterable[Any]) -> dict[str, str]:
    """username -> display name of every staff member the entries name (as actor, target, or the
    reviewer of a reassignment), in one query."""
    usernames: set[str] = set()
    for entry in entries:
        for value in (entry.actor, entry.target):
            if value and value.startswith(STAFF):
                usernames.add(value[len(STAFF):])
        if entry.action == "order.reassigned":
            usernames.update(v for v in (_get(entry.before, "reviewer"), _get(entry.after, "reviewer")) if v)
        for actor in (_get(entry.after, "requested_by"), _get(entry.after, "confirmed_by")):
            if isinstance(actor, str) and actor.startswith(STAFF):
                usernames.add(actor[len(STAFF):])
    if not usernames:
        return {}
    rows = session.execute(select(Staff.username, Staff.display_name).where(Staff.username.in_(usernames)))
    return {username: display_name for username, display_name in rows}


def who(actor: str | None, names: dict[str, str]) -> str:
    """The actor as a sentence names it: a staff member by display name, others by what they are."""
    text, _ours = _who(actor, names)
    return text


def _who(actor: str | None, names: dict[str, str]) -> tuple[str, bool]:
    """(name, whether it is one of our phrases, which may be capitalised at a sentence's start)."""
    actor = actor or ""
    kind, _sep, rest = actor.partition(":")
    if kind == "staff" and rest:
        return names.get(rest) or rest, False
    if kind == "applicant":
        return _("the applicant"), True
    if kind == "system":
        return _("the system"), True
    if kind == "station" and rest:
        return _("station %(name)s", name=rest), True
    if kind == "courier" and rest:
        return _("courier %(code)s", code=rest), True
    if actor == "signing-service":
        return _("the signing service"), True
    if kind == "cli":
        return _("an operator at the command line"), True
    if kind == "payment":
        return _("the payment provider %(name)s", name=rest.partition(":")[0]), True
    if kind == "ip":
        return _("someone at %(address)s", address=rest), True
    return actor, False


def sentence(entry, staff_names: dict[str, str]) -> str:
    """One sentence for the entry, in the current language."""
    name, ours = _who(entry.actor, staff_names)
    write = SENTENCES.get(entry.action)
    text = write(entry, name, staff_names) if write else fallback(entry, name)
    if ours and text.startswith(name):
        text = text[:1].upper() + text[1:]
    return text


def fallback(entry, name: str) -> str:
    return _("%(who)s: %(action)s", who=name, action=entry.action)


# --- helpers --------------------------------------------------------------------------------------

def _get(record: dict | None, key: str, default: Any = None) -> Any:
    return record.get(key, default) if isinstance(record, dict) else default


def _target(entry, prefix: str) -> str:
    """The id in the entry's target "<prefix>:<id>" (or the whole target)."""
    target = entry.target or ""
    return target[len(prefix) + 1:] if target.startswith(prefix + ":") else target


def _yuan(cents: Any) -> str:
    try:
        cents = int(cents)
    except (TypeError, ValueError):
        return "?"
    return f"{cents // 100}.{cents % 100:02d}"


def _with_note(text: str, note: str | None) -> str:
    return _("%(sentence)s Note: %(note)s", sentence=text, note=note) if note else text


def _kinds(codes: str) -> str:
    return _list(label(code.strip()) for code in codes.split(",") if code.strip())


def _list(items: Iterable[str]) -> str:
    """Items joined as the language lists them ("a, b" / "a、b")."""
    return _(", ").join(items)


def _revocation_reason(name: Any) -> str:
    names = {code.name.lower(): text for code, text in REVOCATION_REASONS}
    if isinstance(name, int):
        try:
            name = RevocationReason(name).name.lower()
        except ValueError:
            return str(name)
    return str(names.get(name, name or ""))


Writer = Callable[[Any, str, dict[str, str]], str]


# --- the order ------------------------------------------------------------------------------------

def _order_created(e, w, n):
    return _("%(who)s created the order %(number)s.", who=w, number=_get(e.after, "number", ""))


def _risk_overridden(e, w, n):
    return _("%(who)s overrode the deny-list match: %(why)s", who=w, why=e.note or "")


def _staff_absent(e, w, n):
    return _("%(who)s marked %(whom)s absent.", who=w, whom=_target_name(e, n))


def _staff_back(e, w, n):
    return _("%(who)s marked %(whom)s back at work.", who=w, whom=_target_name(e, n))


def _target_name(e, n) -> str:
    username = (e.target or "").removeprefix("staff:")
    return n.get(username, username)


def _backup_restored(e, w, n):
    return _("%(who)s restored the database and files from a backup.", who=w)


def _storage_migrated(e, w, n):
    return _("%(who)s moved what the instance kept in the clear into the encrypted document store: %(files)s "
             "material files and %(invoices)s invoice PDFs.", who=w, files=_get(e.after, "materials_sealed", 0),
             invoices=_get(e.after, "invoices_moved", 0))


def _retention_purged(e, w, n):
    return _("%(who)s removed the order's personal data and %(files)s document files under the retention rule.",
             who=w, files=_get(e.after, "files", 0))


def _retention_run(e, w, n):
    return _("%(who)s ran the retention purge: the personal data of %(orders)s orders removed, %(files)s document "
             "files deleted.", who=w, orders=_get(e.after, "orders", 0), files=_get(e.after, "files", 0))


def _note_added(e, w, n):
    return _("%(who)s added an internal note.", who=w)


def _order_edited(e, w, n):
    return _("%(who)s edited the application.", who=w)


def _order_rebound(e, w, n):
    return _("%(who)s went on with the application in another browser, found by the order query.", who=w)


def _order_status(e, w, n):
    before, after = _get(e.before, "status", ""), _get(e.after, "status", "")
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
        return _("%(who)s asked the applicant for more materials: %(kinds)s.", who=w, kinds=_kinds(note))
    if after == "cancelled" and note.startswith("more materials not sent by "):
        return _("%(who)s cancelled the order: the materials asked for were not sent by %(date)s.", who=w,
                 date=note[len("more materials not sent by "):])
    if note.startswith("materials re-submitted: "):
        return _("%(who)s sent the requested materials again: %(kinds)s.", who=w,
                 kinds=_kinds(note[len("materials re-submitted: "):]))
    text = _("%(who)s moved the order from “%(before)s” to “%(after)s”.", who=w, before=label(before),
             after=label(after))
    return _with_note(text, note)


def _order_reassigned(e, w, n):
    before, after = _get(e.before, "reviewer"), _get(e.after, "reviewer", "")
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
    field = _get(e.after, "field", "")
    return _("%(who)s revealed %(field)s.", who=w,
             field=REVEALED_FIELDS[field]() if field in REVEALED_FIELDS else field)


def _identity_checked(e, w, n):
    results = _list(_("%(check)s: %(outcome)s", check=label(method), outcome=label(outcome))
                    for method, outcome in (e.after or {}).items())
    return _("%(who)s ran the identity checks: %(results)s.", who=w, results=results or "-")


def _material_viewed(e, w, n):
    return _("%(who)s viewed document %(id)s.", who=w, id=_target(e, "material"))


def _material_uploaded(e, w, n):
    kind = label(_get(e.after, "kind", ""))
    if _get(e.after, "replaces"):
        return _("%(who)s uploaded %(kind)s again, replacing the earlier copy.", who=w, kind=kind)
    return _("%(who)s uploaded %(kind)s.", who=w, kind=kind)


def _password_card_printed(e, w, n):
    card = _get(e.after, "card", "")
    if _get(e.after, "reprint"):
        return _("%(who)s printed password card %(card)s again.", who=w, card=card)
    if _get(e.after, "with_pin"):
        return _("%(who)s printed password card %(card)s with the certificate password.", who=w, card=card)
    return _("%(who)s printed password card %(card)s.", who=w, card=card)


def _password_destroyed(e, w, n):
    return _with_note(_("%(who)s erased the certificate password kept for the order.", who=w), e.note)


# --- certificates and the CA ----------------------------------------------------------------------

def _revocation_requested(e, w, n):
    text = _("%(who)s asked for certificate %(serial)s to be revoked (reason: %(reason)s).", who=w,
             serial=_target(e, "certificate"), reason=_revocation_reason(_get(e.after, "reason")))
    return _with_note(text, e.note)


def _revocation_withdrawn(e, w, n):
    return _("%(who)s withdrew the request to revoke certificate %(serial)s.", who=w,
             serial=_target(e, "certificate"))


def _revocation_refused(e, w, n):
    return _with_note(_("The signing service refused to revoke the certificate this order names (rule: "
                        "%(rule)s).", rule=_get(e.after, "rule", "")), e.note)


def _certificate_issue(e, w, n):
    return _("%(who)s issued certificate %(serial)s.", who=w,
             serial=_get(e.after, "serial") or _target(e, "certificate"))


def _certificate_revoke(e, w, n):
    reason = _revocation_reason(_get(e.after, "reason_name", _get(e.after, "reason")))
    requested = _get(e.after, "requested_by")
    if requested:
        return _("%(who)s revoked certificate %(serial)s (reason: %(reason)s), as %(requester)s asked.", who=w,
                 serial=_target(e, "certificate"), reason=reason, requester=who(requested, n))
    return _("%(who)s revoked certificate %(serial)s (reason: %(reason)s).", who=w,
             serial=_target(e, "certificate"), reason=reason)


def _certificate_withdraw(e, w, n):
    return _("%(who)s revoked certificate %(serial)s, made by an attempt of job %(job)s that did not finish.",
             who=w, serial=_target(e, "certificate"), job=_get(e.after, "job_id", ""))


def _certificate_supersede(e, w, n):
    return _("%(who)s marked certificate %(serial)s superseded by certificate %(successor)s of the renewal or "
             "information change.", who=w, serial=_target(e, "certificate"), successor=_get(e.after, "by", ""))


def _crl_publish(e, w, n):
    return _("%(who)s published CRL number %(number)s (%(count)s revoked certificates).", who=w,
             number=_get(e.after, "number", ""), count=_get(e.after, "revoked_count", ""))


def _ca_ceremony(e, w, n):
    return _with_note(_("%(who)s held the key ceremony: a new issuing CA %(serial)s.", who=w,
                        serial=_target(e, "ca")), e.note)


def _ca_ocsp_responder(e, w, n):
    return _with_note(_("%(who)s made a new OCSP responder certificate for the issuing CA %(serial)s.", who=w,
                        serial=_target(e, "ca")), e.note)


# --- the key programming station and the keys -----------------------------------------------------

def _job(e) -> str:
    return _target(e, "job")


def _job_claimed(e, w, n):
    return _("%(who)s claimed programming job %(job)s.", who=w, job=_job(e))


def _job_released(e, w, n):
    return _("%(who)s released programming job %(job)s.", who=w, job=_job(e))


def _job_started(e, w, n):
    return _("%(who)s started programming job %(job)s at station %(station)s on key %(serial)s.", who=w,
             job=_job(e), station=_get(e.after, "station", ""), serial=_get(e.after, "serial", ""))


def _job_resumed(e, w, n):
    return _("%(who)s resumed programming job %(job)s at station %(station)s.", who=w, job=_job(e),
             station=_get(e.after, "station", ""))


def _job_wiped(e, w, n):
    withdrawn = _get(e.after, "withdrawn")
    if withdrawn:
        return _("%(who)s had key %(serial)s wiped for programming job %(job)s to start again; certificate "
                 "%(certificate)s of the earlier attempt was revoked.", who=w, serial=_get(e.after, "serial", ""),
                 job=_job(e), certificate=withdrawn)
    return _("%(who)s had key %(serial)s wiped for programming job %(job)s to start again.", who=w,
             serial=_get(e.after, "serial", ""), job=_job(e))


def _job_requeued(e, w, n):
    return _("%(who)s restarted and put programming job %(job)s back in its queue.", who=w, job=_job(e))


def _job_attempt(e, w, n):
    return _("%(who)s began attempt %(attempt)s of programming job %(job)s.", who=w,
             attempt=_get(e.after, "attempt", ""), job=_job(e))


def _job_done(e, w, n):
    return _("%(who)s finished programming job %(job)s: key %(serial)s holds certificate %(certificate)s.",
             who=w, job=_job(e), serial=_get(e.after, "serial", ""), certificate=_get(e.after, "certificate", ""))


def _job_interrupted(e, w, n):
    step = _get(e.after, "step")
    error = _get(e.after, "error", "")
    if step:
        return _("%(who)s reported programming job %(job)s interrupted at the step “%(step)s” (%(error)s).", who=w,
                 job=_job(e), step=label(f"step_{step}"), error=error)
    return _("%(who)s reported programming job %(job)s interrupted (%(error)s).", who=w, job=_job(e), error=error)


def _token_state(e, w, n):
    text = _("%(who)s moved key %(serial)s from “%(before)s” to “%(after)s”.", who=w, serial=_target(e, "token"),
             before=label(f"token_{_get(e.before, 'state', '')}"), after=label(f"token_{_get(e.after, 'state', '')}"))
    return _with_note(text, e.note)


def _key_return_received(e, w, n):
    return _("%(who)s received key %(serial)s back and asked station %(station)s to wipe it.", who=w,
             serial=_target(e, "token"), station=_get(e.after, "station", ""))


def _key_return_retried(e, w, n):
    return _("%(who)s asked station %(station)s to wipe the returned key %(serial)s again.", who=w,
             serial=_target(e, "token"), station=_get(e.after, "station", ""))


def _key_return_wiped(e, w, n):
    if _get(e.after, "to_shelf"):
        return _("%(who)s wiped the returned key %(serial)s: it is blank and back on the shelf.", who=w,
                 serial=_target(e, "token"))
    return _("%(who)s wiped the returned key %(serial)s: it is blank and kept for its applicant.", who=w,
             serial=_target(e, "token"))


def _key_return_wipe_failed(e, w, n):
    return _("%(who)s could not wipe the returned key %(serial)s (%(error)s).", who=w, serial=_target(e, "token"),
             error=_get(e.after, "error", ""))


def _key_unlock_received(e, w, n):
    return _("%(who)s received the locked key %(serial)s and asked station %(station)s to unlock it.", who=w,
             serial=_target(e, "token"), station=_get(e.after, "station", ""))


def _key_unlock_retried(e, w, n):
    return _("%(who)s asked station %(station)s to unlock key %(serial)s again.", who=w,
             serial=_target(e, "token"), station=_get(e.after, "station", ""))


def _key_unlock_unlocked(e, w, n):
    return _("%(who)s unlocked key %(serial)s with a new SO PIN; the new key password went to the legal "
             "representative by SMS.", who=w, serial=_target(e, "token"))


def _key_unlock_failed(e, w, n):
    return _("%(who)s could not unlock key %(serial)s (%(error)s).", who=w, serial=_target(e, "token"),
             error=_get(e.after, "error", ""))


def _unlock_authorised(e, w, n):
    if _get(e.after, "person") == "holder":  # a personal certificate's key
        if _get(e.after, "way") == "sms":
            return _("%(who)s authorised the unlock of key %(serial)s with an SMS code to the holder's phone on "
                     "file (the key was unlocked by identity before).", who=w, serial=_target(e, "token"))
        return _("%(who)s authorised the unlock of key %(serial)s: the holder's name and ID checked, SMS code to "
                 "the holder's phone on file.", who=w, serial=_target(e, "token"))
    if _get(e.after, "way") == "sms":
        return _("%(who)s authorised the unlock of key %(serial)s with an SMS code to the agent's phone on file "
                 "(the key was unlocked by identity before).", who=w, serial=_target(e, "token"))
    if _get(e.after, "person") == "legal_rep":
        return _("%(who)s authorised the unlock of key %(serial)s: identity checked, SMS code to the legal "
                 "representative's phone on file.", who=w, serial=_target(e, "token"))
    return _("%(who)s authorised the unlock of key %(serial)s: identity checked, SMS code to the agent's phone on "
             "file.", who=w, serial=_target(e, "token"))


def _unlock_identity_refused(e, w, n):
    return _("%(who)s asked to unlock key %(serial)s, but the identity given does not match this order.", who=w,
             serial=_target(e, "token"))


def _helper_paired(e, w, n):
    return _("The key helper was paired with the applicant's page (keys plugged in: %(keys)s).",
             keys=", ".join(_get(e.after, "keys", []) or []) or "—")


def _helper_ended(e, w, n):
    return _("The key helper's session ended (%(outcome)s).", outcome=_get(e.after, "outcome", ""))


def _helper_logged_in(e, w, n):
    return _("Key login on key %(serial)s with the key password: certificate %(certificate)s.",
             serial=_target(e, "token"), certificate=_get(e.after, "certificate", ""))


def _helper_key_renewed(e, w, n):
    return _("The new certificate %(certificate)s was written to key %(serial)s at the applicant's PC and checked "
             "(it replaces %(earlier)s).", certificate=_get(e.after, "certificate", ""), serial=_target(e, "token"),
             earlier=_get(e.after, "earlier", ""))


def _helper_failed(e, w, n):
    return _("The key helper reported a problem (%(error)s).", error=_get(e.after, "error", ""))


def _supersession_refused(e, w, n):
    return _("The signing service refused to mark the earlier certificate superseded (%(rule)s).",
             rule=_get(e.after, "rule", ""))


def _helper_key_unlocked(e, w, n):
    return _("%(who)s unlocked key %(serial)s at the applicant's PC: a new key password, the SO PIN used replaced.",
             who=w, serial=_target(e, "token"))


def _station_credential(issued: bool):
    def write(e, w, n):
        if issued:
            return _("%(who)s issued a credential for station %(station)s.", who=w, station=_target(e, "station"))
        return _("%(who)s replaced the credential of station %(station)s.", who=w, station=_target(e, "station"))
    return write


def _station_credential_revoked(e, w, n):
    return _("%(who)s revoked the credential of station %(station)s.", who=w, station=_target(e, "station"))


# --- the shelf ------------------------------------------------------------------------------------

def _stock_item(e) -> str:
    item = _get(e.after, "item") or _target(e, "stock")
    model = _get(e.after, "model")
    name = label(f"stock_{item}")
    return _("%(item)s (%(model)s)", item=name, model=model) if model else name


def _stock_received(e, w, n):
    return _("%(who)s received %(quantity)s × %(item)s on the shelf.", who=w,
             quantity=_get(e.after, "quantity", ""), item=_stock_item(e))


def _stock_returned(e, w, n):
    return _with_note(_("%(who)s put key %(serial)s back on the shelf.", who=w, serial=_target(e, "token")),
                      e.note)


def _stock_written_off(e, w, n):
    return _with_note(_("%(who)s wrote off %(quantity)s × %(item)s.", who=w, quantity=_get(e.after, "quantity", ""),
                        item=_stock_item(e)), e.note)


# --- money ----------------------------------------------------------------------------------------

def _invoice_issued(e, w, n):
    return _("%(who)s issued invoice %(number)s for %(amount)s yuan.", who=w,
             number=_get(e.after, "number") or _target(e, "invoice"), amount=_yuan(_get(e.after, "total_cents")))


def _invoice_reversed(e, w, n):
    return _("%(who)s reversed invoice %(number)s with red invoice %(red)s.", who=w, number=_target(e, "invoice"),
             red=_get(e.after, "red_number", ""))


def _invoice_voided(e, w, n):
    return _with_note(_("%(who)s voided invoice %(number)s.", who=w, number=_target(e, "invoice")), e.note)


def _invoice_deferred(e, w, n):
    return _with_note(_("%(who)s could not have the invoice issued yet: it is issued again later.", who=w),
                      e.note)


def _invoice_downloaded(e, w, n):
    return _("%(who)s downloaded invoice %(number)s.", who=w, number=_target(e, "invoice"))


def _payment_late(e, w, n):
    return _with_note(_("%(who)s reported a payment after the order was cancelled: it is refunded.", who=w),
                      e.note)


def _transfer_matched(e, w, n):
    return _("%(who)s matched the bank transfer %(reference)s of %(amount)s yuan (value date %(day)s, from "
             "%(payer)s) to the order.", who=w, reference=_get(e.after, "reference", "?"),
             amount=_yuan(_get(e.after, "amount_cents")), day=_get(e.after, "value_date", "?"),
             payer=_get(e.after, "payer_name", "?"))


def _transfer_refused(e, w, n):
    return _with_note(_("%(who)s refused the payment proof (document %(id)s): no transfer on the bank statement "
                        "answers it.", who=w, id=_target(e, "material")), e.note)


def _refund_proposed(e, w, n):
    return _("%(who)s proposed a refund of %(amount)s yuan (%(reason)s).", who=w,
             amount=_yuan(_get(e.after, "amount_cents")), reason=billing_label(_get(e.after, "reason", "")))


def _refund_confirmed(e, w, n):
    return _("%(who)s confirmed refund %(refund)s.", who=w, refund=_target(e, "refund"))


def _refund_failed(e, w, n):
    return _with_note(_("%(who)s could not send refund %(refund)s; it is sent again later.", who=w,
                        refund=_target(e, "refund")), e.note)


def _refund_succeeded(e, w, n):
    return _("%(who)s paid back %(amount)s yuan (refund %(refund)s).", who=w,
             amount=_yuan(_get(e.after, "amount_cents")), refund=_target(e, "refund"))


# --- staff accounts, the admin, the chain ---------------------------------------------------------

def _staff_target(e, n) -> str:
    return who(e.target, n)


def _staff_created(e, w, n):
    return _("%(who)s created the staff account %(name)s (%(role)s).", who=w,
             name=_get(e.after, "display_name") or _staff_target(e, n), role=_get(e.after, "role", ""))


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
    return _with_note(text, e.note)


def _staff_totp_reset(e, w, n):
    return _("%(who)s reset the second factor of %(staff)s.", who=w, staff=_staff_target(e, n))


def _staff_unlocked(e, w, n):
    return _("%(who)s lifted the lock-out of %(staff)s.", who=w, staff=_staff_target(e, n))


def _admin_change(e, w, n):
    if e.note == "create":
        return _("%(who)s created %(target)s in the admin.", who=w, target=e.target or "")
    fields = _list(sorted((e.after or {}).keys()))
    return _("%(who)s changed %(fields)s of %(target)s in the admin.", who=w, fields=fields or "-",
             target=e.target or "")


def _calendar_imported(e, w, n):
    return _with_note(_("%(who)s imported %(count)s days of the working-day calendar.", who=w,
                        count=len(e.after or {})), e.note)


def _restore_acknowledged(e, w, n):
    return _("%(who)s acknowledged a restored database: %(dropped)s audit entries after entry %(head)s are "
             "gone.", who=w, dropped=_get(e.after, "dropped", ""), head=_get(e.after, "head_seq", ""))


def _materials_reminded(e, w, n):
    return _("%(who)s reminded the applicant of the materials asked for (day %(day)s of the request).", who=w,
             day=_get(e.after, "day", ""))


REMINDER_STAGES = {
    "days_90": lambda: _("90 days before it expires"),
    "days_30": lambda: _("30 days before it expires"),
    "days_7": lambda: _("7 days before it expires"),
    "expired": lambda: _("the day after it expired"),
}


def _renewal_reminded(e, w, n):
    stage = _get(e.after, "stage", "")
    return _("%(who)s reminded the applicant to renew certificate %(serial)s, %(when)s (%(expires)s).", who=w,
             serial=_target(e, "certificate"), when=REMINDER_STAGES[stage]() if stage in REMINDER_STAGES else stage,
             expires=_get(e.after, "expires", ""))


def _renewal_opted_out(e, w, n):
    return _("%(who)s turned the applicant's renewal reminders off.", who=w)


def _renewal_opted_in(e, w, n):
    return _("%(who)s turned the applicant's renewal reminders back on.", who=w)


def _outbox_resent(e, w, n):
    channels = {"sms": _("SMS"), "email": _("e-mail"), "transfer": _("0.01-yuan transfer")}
    channel = _get(e.after, "channel", "")
    return _("%(who)s sent the %(channel)s %(kind)s (%(message)s) again, as a new send (%(copy)s).", who=w,
             channel=channels.get(channel, channel), kind=_get(e.after, "kind", ""), message=e.target or "",
             copy=_get(e.after, "copy", ""))


SENTENCES: dict[str, Writer] = {
    "order.created": _order_created,
    "order.edited": _order_edited,
    "order.note_added": _note_added,
    "backup.restored": _backup_restored,
    "storage.migrated": _storage_migrated,
    "retention.purged": _retention_purged,
    "retention.run": _retention_run,
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
    "certificate.revocation_requested": _revocation_requested,
    "certificate.revocation_withdrawn": _revocation_withdrawn,
    "certificate.revocation_refused": _revocation_refused,
    "certificate.issue": _certificate_issue,
    "certificate.revoke": _certificate_revoke,
    "certificate.withdraw": _certificate_withdraw,
    "certificate.supersede": _certificate_supersede,
    "crl.publish": _crl_publish,
    "ca.ceremony": _ca_ceremony,
    "ca.ocsp_responder": _ca_ocsp_responder,
    "job.claimed": _job_claimed,
    "job.released": _job_released,
    "job.started": _job_started,
    "job.resumed": _job_resumed,
    "job.wiped": _job_wiped,
    "job.requeued": _job_requeued,
    "job.attempt": _job_attempt,
    "job.done": _job_done,
    "job.interrupted": _job_interrupted,
    "token.state": _token_state,
    "key_return.received": _key_return_received,
    "key_return.retried": _key_return_retried,
    "key_return.wiped": _key_return_wiped,
    "key_return.wipe_failed": _key_return_wipe_failed,
    "key_unlock.received": _key_unlock_received,
    "key_unlock.retried": _key_unlock_retried,
    "key_unlock.unlocked": _key_unlock_unlocked,
    "key_unlock.failed": _key_unlock_failed,
    "unlock.authorised": _unlock_authorised,
    "unlock.identity_refused": _unlock_identity_refused,
    "helper.key_unlocked": _helper_key_unlocked,
    "helper.paired": _helper_paired,
    "helper.ended": _helper_ended,
    "helper.logged_in": _helper_logged_in,
    "helper.key_renewed": _helper_key_renewed,
    "helper.failed": _helper_failed,
    "certificate.supersession_refused": _supersession_refused,
    "station.credential_issued": _station_credential(issued=True),
    "station.credential_rotated": _station_credential(issued=False),
    "station.credential_revoked": _station_credential_revoked,
    "stock.received": _stock_received,
    "stock.returned": _stock_returned,
    "stock.written_off": _stock_written_off,
    "invoice.issued": _invoice_issued,
    "invoice.reversed": _invoice_reversed,
    "invoice.voided": _invoice_voided,
    "invoice.deferred": _invoice_deferred,
    "invoice.downloaded": _invoice_downloaded,
    "payment.late": _payment_late,
    "transfer.matched": _transfer_matched,
    "transfer.refused": _transfer_refused,
    "refund.proposed": _refund_proposed,
    "refund.confirmed": _refund_confirmed,
    "refund.failed": _refund_failed,
    "refund.succeeded": _refund_succeeded,
    "material_request.reminded": _materials_reminded,
    "renewal.reminded": _renewal_reminded,
    "renewal.opted_out": _renewal_opted_out,
    "renewal.opted_in": _renewal_opted_in,
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
    "calendar.imported": _calendar_imported,
    "outbox.resent": _outbox_resent,
    RESTORE_ACTION: _restore_acknowledged,
}
