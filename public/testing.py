"""Hooks for tests, scripts and load tests; registered everywhere but in production.

`GET /_test/captcha?t=<token>` answers the latest picture of the captcha token the caller
names: the token its own page carries (the hidden `captcha_token` field), which nobody
else knows. It reads no session, so it works whichever parallel response set the cookie.

In load-test mode only (LOAD_TEST, which production refuses), `GET /_test/sms?phone=<phone>`
is the sandbox phone's inbox: the text of the newest SMS the worker delivered to it, as an
applicant reads it on the phone. Nothing yet delivered: 404, and the script asks again.
"""
from flask import Blueprint, abort, current_app, request
from sqlalchemy import select

from models import Delivery, SmsMessage
from public import captcha
from web.extensions import db

bp = Blueprint("testing_hooks", __name__, url_prefix="/_test")
load_test_bp = Blueprint("load_test_hooks", __name__, url_prefix="/_test")


@bp.get("/captcha")
def captcha_answer():
    answer = captcha.answer_of(db.session, current_app.config["SECRET_KEY"], request.args.get("t", ""))
    if answer is None:
        abort(404)
    return answer, 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


@load_test_bp.get("/sms")
def sms_inbox():
    message = db.session.scalars(
        select(SmsMessage).where(SmsMessage.phone == request.args.get("phone", ""),
                                 SmsMessage.status == Delivery.SENT).order_by(SmsMessage.id.desc())
    ).first()
    if message is None:
        abort(404)
    return message.text, 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
