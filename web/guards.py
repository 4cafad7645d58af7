"""Who may open a console page: signed-in staff, their roles, and the idle timeout.

    from web.guards import roles_required, staff_required

Anonymous visitors are sent to the sign-in page (with `next`); staff without the role get 403.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps

from flask import Flask, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from models import Staff, StaffRole, record
from web.extensions import db, login_manager
from web.staff_login import is_staff

# Seconds since the epoch of the signed-in staff member's last request.
LAST_ACTIVITY_KEY = "staff_last_activity"


def has_role(staff, *roles: StaffRole | str) -> bool:
    staff = getattr(staff, "_get_current_object", lambda: staff)()
    return isinstance(staff, Staff) and staff.is_active and staff.role in roles


def refuse():
    """The answer to a page the visitor may not see: sign in first, or 403."""
    if not is_staff():
        return login_manager.unauthorized()
    abort(403)


def staff_required(view: Callable) -> Callable:
    @wraps(view)
    def guarded(*args, **kwargs):
        if not is_staff():
            return refuse()
        return view(*args, **kwargs)

    return guarded


def roles_required(*roles: StaffRole | str) -> Callable[[Callable], Callable]:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            if not has_role(current_user, *roles):
                return refuse()
            return view(*args, **kwargs)

        return guarded

    return decorator


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    login_manager.localize_callback = str  # a lazy string cannot go into the session
    app.before_request(_sign_out_when_idle)


def mark_activity() -> None:
    session[LAST_ACTIVITY_KEY] = int(time.time())


def forget_activity() -> None:
    session.pop(LAST_ACTIVITY_KEY, None)


def _sign_out_when_idle():
    if request.endpoint is None or request.endpoint.endswith("static") or not is_staff():
        return None
    minutes = current_app.config["STAFF_IDLE_TIMEOUT_MINUTES"]
    last = session.get(LAST_ACTIVITY_KEY)
    if last is not None and time.time() - last > minutes * 60:
        record(db.session, current_user.actor, "staff.logout", target=current_user.actor, note="idle timeout")
        logout_user()
        forget_activity()
        flash(_("You were signed out after %(minutes)d minutes without activity.", minutes=minutes), "warning")
        wanted = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("auth.login", next=wanted))
    mark_activity()
    return None
