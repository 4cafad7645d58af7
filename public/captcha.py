"""The image captcha of the public form; the answer lives only in the session."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from captcha.image import ImageCaptcha
from flask import current_app, session

from public.validators import N_

_ALPHABET = "23456789"  # no 0/1: they are read as O/I
_generator = ImageCaptcha(width=140, height=50)


def _digest(answer: str) -> str:
    return hashlib.sha256(answer.encode()).hexdigest()


def new_image() -> bytes:
    answer = "".join(secrets.choice(_ALPHABET) for _ in range(4))
    session["captcha"] = {"digest": _digest(answer), "tries": 0}
    if current_app.testing:
        session["captcha_test_answer"] = answer
    return _generator.generate(answer).getvalue()


def check(typed: str) -> str | None:
    """None when right (the captcha is then used up), else the message to show."""
    state = session.get("captcha")
    if not state:
        return N_("The captcha has expired. Please use the new picture.")
    if hmac.compare_digest(state["digest"], _digest(typed.strip())):
        _forget()
        return None
    state["tries"] += 1
    session["captcha"] = state
    if state["tries"] >= current_app.config["CAPTCHA_MAX_ATTEMPTS"]:
        _forget()
        return N_("Too many wrong answers. Please use the new picture.")
    return N_("The captcha is wrong.")


def _forget() -> None:
    session.pop("captcha", None)
    session.pop("captcha_test_answer", None)
