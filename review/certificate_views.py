"""Controllers of the certificate register: the list, one certificate, and its revocation under
dual control. Every staff member may look; senior reviewers ask for and confirm revocations."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from issuance import expiry
from issuance.interfaces import PolicyRefused, SigningService, SigningUnavailable
from models import Certificate, Order, RevocationReason, StaffRole
from models.base import utcnow
from review import certificates, revocation_work
from review.forms import REVOCATION_REASONS, ActionForm, RevocationForm
from review.operations import ReviewError
from web import edge
from web.database import write_lock, writes_elsewhere
from web.extensions import db
from web.guards import roles_required, staff_required
from web.request_guard import bounded_int
from web.services import find_service


def _certificate(serial: str) -> Certificate:
    return certificates.certificate_by_serial(db.session, serial) or abort(404)


@staff_required
def certificate_register():
    text = (request.args.get("q") or "").strip()[:64] or None
    status = request.args.get("status") if request.args.get("status") in certificates.SHOWN_STATUSES else None
    page = max(request.args.get("p", 1, type=bounded_int), 1)
    rows, more = certificates.register_page(db.session, certificates.RegisterFilter(text, status), page, utcnow())
    kept = {key: value for key, value in (("q", text), ("status", status)) if value}
    return render_template("console/certificates.html", rows=rows, q=text or "", status=status, page=page,
                           next_url=more and url_for("review.certificate_register", p=page + 1, **kept),
                           prev_url=page > 1 and url_for("review.certificate_register", p=page - 1, **kept),
                           statuses=certificates.SHOWN_STATUSES, reasons=dict(REVOCATION_REASONS), now=utcnow())


@staff_required
def certificate_page(serial: str):
    certificate = _certificate(serial)
    order = db.session.get(Order, certificate.order_id)
    may_revoke = current_user.role in certificates.REVOKERS
    return render_template("console/certificate.html", certificate=certificate, order=order, now=utcnow(),
                           reasons=dict(REVOCATION_REASONS), may_revoke=may_revoke,
                           waiting=revocation_work.waiting_for(db.session, certificate),
                           form=RevocationForm(), action_form=ActionForm())


@roles_required(StaffRole.SENIOR_REVIEWER)
def request_revocation(serial: str):
    certificate = _certificate(serial)
    form = RevocationForm()
    if not form.validate_on_submit():
        abort(400)
    _flash_outcome(lambda: certificates.request_revocation(
        db.session, certificate, current_user, RevocationReason(form.reason.data), form.note.data),
        _("Revocation asked for: a second senior reviewer must confirm it."))
    return redirect(url_for("review.certificate_page", serial=serial))


@roles_required(StaffRole.SENIOR_REVIEWER)
def withdraw_revocation(serial: str):
    certificate = _certificate(serial)
    if not ActionForm().validate_on_submit():
        abort(400)
    _flash_outcome(lambda: certificates.withdraw_revocation(db.session, certificate, current_user),
                   _("The revocation request was withdrawn."))
    return redirect(url_for("review.certificate_page", serial=serial))


@roles_required(StaffRole.SENIOR_REVIEWER)
@writes_elsewhere
def confirm_revocation(serial: str):
    """The signing service revokes in its own process; this request writes (the key revoked, the
    applicant told) only afterwards, in a new transaction holding the write lock."""
    certificate = _certificate(serial)
    if not ActionForm().validate_on_submit():
        abort(400)
    actor = current_user.actor
    try:
        revoked = certificates.confirm_revocation(db.session, find_service(SigningService), certificate,
                                                  current_user)
    except ReviewError as exc:
        flash(_(exc.message, **exc.params), "error")
    except PolicyRefused as refused:
        flash(_("The signing service refused: %(message)s", message=refused.message), "error")
    except SigningUnavailable:
        flash(_("The signing service cannot be reached: nothing was revoked. Please try again."), "error")
    else:
        db.session.rollback()
        with write_lock():
            certificates.after_revocation(db.session, _certificate(serial), revoked, actor)
            edge.commit()
        flash(_("Revoked. CRL number %(number)s is published with it.", number=revoked.crl_number), "success")
    return redirect(url_for("review.certificate_page", serial=serial))


@roles_required(StaffRole.SENIOR_REVIEWER, StaffRole.ADMIN)
def ca_status():
    """The CA's certificates (where each key is, never the key) and its newest CRLs, with what is
    about to run out."""
    now = utcnow()
    config = current_app.config
    return render_template("console/ca.html", now=now, cas=certificates.ca_certificates(db.session),
                           crls=certificates.newest_crls(db.session),
                           expiring=expiry.expiring(db.session, now, certificate_days=config["CA_EXPIRY_WARNING_DAYS"],
                                                    crl_hours=config["CRL_EXPIRY_WARNING_HOURS"]))


def _flash_outcome(action, success: str) -> None:
    try:
        action()
    except ReviewError as exc:
        flash(_(exc.message, **exc.params), "error")
    else:
        flash(success, "success")
