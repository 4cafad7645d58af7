"""Audit sentences of certificates and the CA: issuing, revoking, superseding, the CRL, the ceremony."""
from __future__ import annotations

from flask_babel import gettext as _

from review.audit_sentences.words import (
    Writer,
    get,
    revocation_reason,
    target_of,
    who,
    with_note,
)


def _revocation_requested(e, w, n):
    text = _("%(who)s asked for certificate %(serial)s to be revoked (reason: %(reason)s).", who=w,
             serial=target_of(e, "certificate"), reason=revocation_reason(get(e.after, "reason")))
    return with_note(text, e.note)


def _revocation_withdrawn(e, w, n):
    return _("%(who)s withdrew the request to revoke certificate %(serial)s.", who=w,
             serial=target_of(e, "certificate"))


def _revocation_refused(e, w, n):
    return with_note(_("The signing service refused to revoke the certificate this order names (rule: "
                        "%(rule)s).", rule=get(e.after, "rule", "")), e.note)


def _certificate_issue(e, w, n):
    return _("%(who)s issued certificate %(serial)s.", who=w,
             serial=get(e.after, "serial") or target_of(e, "certificate"))


def _certificate_revoke(e, w, n):
    reason = revocation_reason(get(e.after, "reason_name", get(e.after, "reason")))
    requested = get(e.after, "requested_by")
    if requested:
        return _("%(who)s revoked certificate %(serial)s (reason: %(reason)s), as %(requester)s asked.", who=w,
                 serial=target_of(e, "certificate"), reason=reason, requester=who(requested, n))
    return _("%(who)s revoked certificate %(serial)s (reason: %(reason)s).", who=w,
             serial=target_of(e, "certificate"), reason=reason)


def _certificate_withdraw(e, w, n):
    return _("%(who)s revoked certificate %(serial)s, made by an attempt of job %(job)s that did not finish.",
             who=w, serial=target_of(e, "certificate"), job=get(e.after, "job_id", ""))


def _certificate_supersede(e, w, n):
    return _("%(who)s marked certificate %(serial)s superseded by certificate %(successor)s of the renewal or "
             "information change.", who=w, serial=target_of(e, "certificate"), successor=get(e.after, "by", ""))


def _crl_publish(e, w, n):
    return _("%(who)s published CRL number %(number)s (%(count)s revoked certificates).", who=w,
             number=get(e.after, "number", ""), count=get(e.after, "revoked_count", ""))


def _ca_ceremony(e, w, n):
    return with_note(_("%(who)s held the key ceremony: a new issuing CA %(serial)s.", who=w,
                        serial=target_of(e, "ca")), e.note)


def _ca_ocsp_responder(e, w, n):
    return with_note(_("%(who)s made a new OCSP responder certificate for the issuing CA %(serial)s.", who=w,
                        serial=target_of(e, "ca")), e.note)


SENTENCES: dict[str, Writer] = {
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
}
