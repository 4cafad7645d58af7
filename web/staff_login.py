"""Flask-Login for staff. The login screens and roles come with the reviewer console."""
from flask import Flask
from flask_login import current_user

from models import Staff
from web.extensions import db, login_manager


def init_app(app: Flask) -> None:
    login_manager.init_app(app)


@login_manager.user_loader
def _load_staff(staff_id: str) -> Staff | None:
    staff = db.session.get(Staff, int(staff_id))
    return staff if staff is not None and staff.active else None


def is_staff() -> bool:
    return bool(current_user.is_authenticated and isinstance(current_user._get_current_object(), Staff))
