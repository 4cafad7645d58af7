"""Staff sign-in: password, then a TOTP code (or enrolment of one), then the console.

Until the second factor is done the session only holds the half-signed-in staff id, for a
few minutes; `login_user` happens after it. Wrong passwords and wrong codes count toward
one lock-out. Every refusal shows the same message, whether or not the account exists.
"""
from __future__ import annotations

import time
from urllib.parse import urlsplit

import segno
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length, Regexp

from models import Staff, record
from models.base import utcnow
from web import guards, staff_accounts
from web.database import writes
from web.extensions import db, limiter
from web.forms import Form
from web.staff_login import is_staff

bp = Blueprint("auth", __name__, url_prefix="/console")

PENDING_KEY = "staff_pending"
PENDING_SECONDS = 300
ATTEMPT_LIMIT = "10/minute;60/hour"  # per IP, on every POST of the sign-in pages


class LoginForm(Form):
    username = StringField(_l("Username"), validators=[InputRequired(), Length(max=40)])
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=200)])


class CodeForm(Form):
    code = StringField(_l("6-digit code"), filters=[lambda value: value.replace(" ", "") if value else value],
                       validators=[InputRequired(), Regexp(r"^\d{6}$", message=_l(
                           "Enter the 6 digits your authenticator app shows."))])


def _refused() -> str:
    return _("Sign-in failed. Check your username and password; after %(count)d failures an account is "
             "locked for %(minutes)d minutes.", count=current_app.config["STAFF_MAX_FAILED_LOGINS"],
             minutes=current_app.config["STAFF_LOCKOUT_MINUTES"])


def safe_next(target: str | None) -> str | None:
    """A path on this site, or None: never another host, scheme or a protocol-relative URL."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(char) < 32 for char in target):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def _source() -> str:
    return f"ip:{request.remote_addr or 'unknown'}"


def _count_failure(staff: Staff, stage: str) -> bool:
    config = current_app.config
    return staff_accounts.record_failed_login(
        db.session, staff, now=utcnow(), source=_source(), stage=stage,
        max_failures=config["STAFF_MAX_FAILED_LOGINS"], lockout_minutes=config["STAFF_LOCKOUT_MINUTES"])


def _pending_staff() -> Staff | None:
    pending = session.get(PENDING_KEY)
    if not pending or pending["until"] < time.time():
        session.pop(PENDING_KEY, None)
        return None
    staff = db.session.get(Staff, pending["staff_id"])
    return staff if staff is not None and staff.active else None


def _start_over(message: str):
    session.pop(PENDING_KEY, None)
    flash(message, "error")
    return redirect(url_for(".login"))


def _finish(staff: Staff):
    pending = session.pop(PENDING_KEY)
    staff_accounts.record_login(db.session, staff, now=utcnow(), source=_source())
    login_user(staff)
    session.permanent = True
    guards.mark_activity()
    return redirect(pending.get("next") or url_for("review.home"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(ATTEMPT_LIMIT, methods=["POST"])
def login():
    wanted = safe_next(request.args.get("next"))
    if is_staff():
        return redirect(wanted or url_for("review.home"))
    form = LoginForm()
    if form.validate_on_submit():
        staff = db.session.scalar(select(Staff).where(Staff.username == form.username.data))
        if staff is not None and not staff.active:
            staff = None
        if staff is not None and staff.is_locked(utcnow()):
            pass  # refused without looking at the password, and not counted
        elif staff_accounts.check_password(staff, form.password.data):
            session[PENDING_KEY] = {"staff_id": staff.id, "until": int(time.time()) + PENDING_SECONDS,
                                    "next": wanted}
            return redirect(url_for(".totp" if staff.totp_confirmed_at else ".enrol"))
        elif staff is not None:
            _count_failure(staff, "password")
        form.password.errors = [_refused()]
    return render_template("console/login.html", form=form)


@bp.route("/login/totp", methods=["GET", "POST"])
@limiter.limit(ATTEMPT_LIMIT, methods=["POST"])
def totp():
    staff = _pending_staff()
    if staff is None:
        return _start_over(_("Your sign-in timed out. Please start again."))
    if staff.totp_confirmed_at is None:
        return redirect(url_for(".enrol"))
    return _second_factor(staff, "console/totp.html")


@bp.route("/login/enrol", methods=["GET", "POST"])
@limiter.limit(ATTEMPT_LIMIT, methods=["POST"])
@writes
def enrol():
    staff = _pending_staff()
    if staff is None:
        return _start_over(_("Your sign-in timed out. Please start again."))
    if staff.totp_confirmed_at is not None:
        return redirect(url_for(".totp"))
    if staff.totp_secret is None:
        staff_accounts.start_enrolment(staff)
    uri = staff_accounts.provisioning_uri(staff, current_app.config["TOTP_ISSUER"])
    qr = segno.make(uri, error="m").svg_data_uri(scale=5)
    return _second_factor(staff, "console/enrol.html", secret=staff.totp_secret, qr=qr)


def _second_factor(staff: Staff, template: str, **context):
    if staff.is_locked(utcnow()):
        return _start_over(_refused())
    form = CodeForm()
    if form.validate_on_submit():
        if staff_accounts.accept_totp_code(staff, form.code.data, now=utcnow()):
            return _finish(staff)
        if _count_failure(staff, "totp"):
            return _start_over(_refused())
        form.code.errors = [_("That code is not valid. Wait for the next code and try again.")]
    return render_template(template, form=form, staff=staff, **context)


@bp.post("/logout")
def logout():
    if is_staff():
        record(db.session, current_user.actor, "staff.logout", target=current_user.actor)
    logout_user()
    guards.forget_activity()
    flash(_("You have signed out."), "info")
    return redirect(url_for(".login"))
