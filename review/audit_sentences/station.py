"""Audit sentences of the key programming station, the keys, the key helper and the shelf."""
from __future__ import annotations

from flask_babel import gettext as _

from review.audit_sentences.words import (
    Writer,
    get,
    target_of,
    with_note,
)
from web.labels import label


def _job(e) -> str:
    return target_of(e, "job")


def _job_claimed(e, w, n):
    return _("%(who)s claimed programming job %(job)s.", who=w, job=_job(e))


def _job_released(e, w, n):
    return _("%(who)s released programming job %(job)s.", who=w, job=_job(e))


def _job_started(e, w, n):
    return _("%(who)s started programming job %(job)s at station %(station)s on key %(serial)s.", who=w,
             job=_job(e), station=get(e.after, "station", ""), serial=get(e.after, "serial", ""))


def _job_resumed(e, w, n):
    return _("%(who)s resumed programming job %(job)s at station %(station)s.", who=w, job=_job(e),
             station=get(e.after, "station", ""))


def _job_wiped(e, w, n):
    withdrawn = get(e.after, "withdrawn")
    if withdrawn:
        return _("%(who)s had key %(serial)s wiped for programming job %(job)s to start again; certificate "
                 "%(certificate)s of the earlier attempt was revoked.", who=w, serial=get(e.after, "serial", ""),
                 job=_job(e), certificate=withdrawn)
    return _("%(who)s had key %(serial)s wiped for programming job %(job)s to start again.", who=w,
             serial=get(e.after, "serial", ""), job=_job(e))


def _job_requeued(e, w, n):
    return _("%(who)s restarted and put programming job %(job)s back in its queue.", who=w, job=_job(e))


def _job_attempt(e, w, n):
    return _("%(who)s began attempt %(attempt)s of programming job %(job)s.", who=w,
             attempt=get(e.after, "attempt", ""), job=_job(e))


def _job_done(e, w, n):
    return _("%(who)s finished programming job %(job)s: key %(serial)s holds certificate %(certificate)s.",
             who=w, job=_job(e), serial=get(e.after, "serial", ""), certificate=get(e.after, "certificate", ""))


def _job_interrupted(e, w, n):
    step = get(e.after, "step")
    error = get(e.after, "error", "")
    if step:
        return _("%(who)s reported programming job %(job)s interrupted at the step “%(step)s” (%(error)s).", who=w,
                 job=_job(e), step=label(f"step_{step}"), error=error)
    return _("%(who)s reported programming job %(job)s interrupted (%(error)s).", who=w, job=_job(e), error=error)


def _token_state(e, w, n):
    text = _("%(who)s moved key %(serial)s from “%(before)s” to “%(after)s”.", who=w, serial=target_of(e, "token"),
             before=label(f"token_{get(e.before, 'state', '')}"), after=label(f"token_{get(e.after, 'state', '')}"))
    return with_note(text, e.note)


def _key_return_received(e, w, n):
    return _("%(who)s received key %(serial)s back and asked station %(station)s to wipe it.", who=w,
             serial=target_of(e, "token"), station=get(e.after, "station", ""))


def _key_return_retried(e, w, n):
    return _("%(who)s asked station %(station)s to wipe the returned key %(serial)s again.", who=w,
             serial=target_of(e, "token"), station=get(e.after, "station", ""))


def _key_return_wiped(e, w, n):
    if get(e.after, "to_shelf"):
        return _("%(who)s wiped the returned key %(serial)s: it is blank and back on the shelf.", who=w,
                 serial=target_of(e, "token"))
    return _("%(who)s wiped the returned key %(serial)s: it is blank and kept for its applicant.", who=w,
             serial=target_of(e, "token"))


def _key_return_wipe_failed(e, w, n):
    return _("%(who)s could not wipe the returned key %(serial)s (%(error)s).", who=w, serial=target_of(e, "token"),
             error=get(e.after, "error", ""))


def _key_unlock_received(e, w, n):
    return _("%(who)s received the locked key %(serial)s and asked station %(station)s to unlock it.", who=w,
             serial=target_of(e, "token"), station=get(e.after, "station", ""))


def _key_unlock_retried(e, w, n):
    return _("%(who)s asked station %(station)s to unlock key %(serial)s again.", who=w,
             serial=target_of(e, "token"), station=get(e.after, "station", ""))


def _key_unlock_unlocked(e, w, n):
    return _("%(who)s unlocked key %(serial)s with a new SO PIN; the new key password went to the legal "
             "representative by SMS.", who=w, serial=target_of(e, "token"))


def _key_unlock_failed(e, w, n):
    return _("%(who)s could not unlock key %(serial)s (%(error)s).", who=w, serial=target_of(e, "token"),
             error=get(e.after, "error", ""))


def _unlock_authorised(e, w, n):
    if get(e.after, "person") == "holder":  # a personal certificate's key
        if get(e.after, "way") == "sms":
            return _("%(who)s authorised the unlock of key %(serial)s with an SMS code to the holder's phone on "
                     "file (the key was unlocked by identity before).", who=w, serial=target_of(e, "token"))
        return _("%(who)s authorised the unlock of key %(serial)s: the holder's name and ID checked, SMS code to "
                 "the holder's phone on file.", who=w, serial=target_of(e, "token"))
    if get(e.after, "way") == "sms":
        return _("%(who)s authorised the unlock of key %(serial)s with an SMS code to the agent's phone on file "
                 "(the key was unlocked by identity before).", who=w, serial=target_of(e, "token"))
    if get(e.after, "person") == "legal_rep":
        return _("%(who)s authorised the unlock of key %(serial)s: identity checked, SMS code to the legal "
                 "representative's phone on file.", who=w, serial=target_of(e, "token"))
    return _("%(who)s authorised the unlock of key %(serial)s: identity checked, SMS code to the agent's phone on "
             "file.", who=w, serial=target_of(e, "token"))


def _unlock_identity_refused(e, w, n):
    return _("%(who)s asked to unlock key %(serial)s, but the identity given does not match this order.", who=w,
             serial=target_of(e, "token"))


def _helper_paired(e, w, n):
    return _("The key helper was paired with the applicant's page (keys plugged in: %(keys)s).",
             keys=", ".join(get(e.after, "keys", []) or []) or "—")


def _helper_ended(e, w, n):
    return _("The key helper's session ended (%(outcome)s).", outcome=get(e.after, "outcome", ""))


def _helper_logged_in(e, w, n):
    return _("Key login on key %(serial)s with the key password: certificate %(certificate)s.",
             serial=target_of(e, "token"), certificate=get(e.after, "certificate", ""))


def _helper_key_renewed(e, w, n):
    return _("The new certificate %(certificate)s was written to key %(serial)s at the applicant's PC and checked "
             "(it replaces %(earlier)s).", certificate=get(e.after, "certificate", ""), serial=target_of(e, "token"),
             earlier=get(e.after, "earlier", ""))


def _helper_failed(e, w, n):
    return _("The key helper reported a problem (%(error)s).", error=get(e.after, "error", ""))


def _supersession_refused(e, w, n):
    return _("The signing service refused to mark the earlier certificate superseded (%(rule)s).",
             rule=get(e.after, "rule", ""))


def _helper_key_unlocked(e, w, n):
    return _("%(who)s unlocked key %(serial)s at the applicant's PC: a new key password, the SO PIN used replaced.",
             who=w, serial=target_of(e, "token"))


def _station_credential(issued: bool):
    def write(e, w, n):
        if issued:
            return _("%(who)s issued a credential for station %(station)s.", who=w, station=target_of(e, "station"))
        return _("%(who)s replaced the credential of station %(station)s.", who=w, station=target_of(e, "station"))
    return write


def _station_credential_revoked(e, w, n):
    return _("%(who)s revoked the credential of station %(station)s.", who=w, station=target_of(e, "station"))


def _stock_item(e) -> str:
    item = get(e.after, "item") or target_of(e, "stock")
    model = get(e.after, "model")
    name = label(f"stock_{item}")
    return _("%(item)s (%(model)s)", item=name, model=model) if model else name


def _stock_received(e, w, n):
    return _("%(who)s received %(quantity)s × %(item)s on the shelf.", who=w,
             quantity=get(e.after, "quantity", ""), item=_stock_item(e))


def _stock_returned(e, w, n):
    return with_note(_("%(who)s put key %(serial)s back on the shelf.", who=w, serial=target_of(e, "token")),
                      e.note)


def _stock_written_off(e, w, n):
    return with_note(_("%(who)s wrote off %(quantity)s × %(item)s.", who=w, quantity=get(e.after, "quantity", ""),
                        item=_stock_item(e)), e.note)


SENTENCES: dict[str, Writer] = {
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
}
