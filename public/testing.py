"""Hooks for tests, scripts and load tests; registered everywhere but in production.

`GET /_test/captcha?t=<token>` answers the latest picture of the captcha token the caller
names: the token its own page carries (the hidden `captcha_token` field), which nobody
else knows. It reads no session, so it works whichever parallel response set the cookie.
"""
from flask import Blueprint, abort, current_app, request

from public import captcha
from web.extensions import db

bp = Blueprint("testing_hooks", __name__, url_prefix="/_test")


@bp.get("/captcha")
def captcha_answer():
    answer = captcha.answer_of(db.session, current_app.config["SECRET_KEY"], request.args.get("t", ""))
    if answer is None:
        abort(404)
    return answer, 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
