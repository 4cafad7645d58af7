"""Hooks that exist only when the app runs in test configuration."""
from flask import Blueprint, abort, session

bp = Blueprint("testing_hooks", __name__, url_prefix="/_test")


@bp.get("/captcha")
def captcha_answer():
    answer = session.get("captcha_test_answer")
    if answer is None:
        abort(404)
    return answer
