"""The image captcha of the public forms, its answers kept on the server.

The page carries a random token, in a hidden field and in the picture's URL. The picture
sets that token's answer in `captcha_challenge`, as an HMAC keyed with the server secret;
the form's answer is then taken in one conditional DELETE, so a solved captcha serves one
submission even when two arrive at once in two processes. Nothing rides in the session
cookie: the page's parallel responses (the picture, /regions.json) overwrite each other's.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools
import re
import secrets

from captcha.image import ImageCaptcha
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from models import CaptchaChallenge
from models.base import insert_for, utcnow
from web.errors import N_

_ALPHABET = "23456789"  # no 0/1: they are read as O/I
_LENGTH = 4
# As long as the form's CSRF token: the long form may take a while to fill in.
LIFETIME = dt.timedelta(hours=2)
# Each new picture purges at most this many stale ones, so no request pays for a backlog.
_PURGE_BATCH = 100
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
_generator = ImageCaptcha(width=140, height=50)

EXPIRED = N_("The captcha has expired. Please use the new picture.")
TOO_MANY = N_("Too many wrong answers. Please use the new picture.")
WRONG = N_("The captcha is wrong.")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def is_token(value: str) -> bool:
    return _TOKEN.fullmatch(value) is not None


def _digest(secret: str, token: str, answer: str) -> str:
    return hmac.new(secret.encode(), f"captcha:{token}:{answer}".encode(), hashlib.sha256).hexdigest()


def new_picture(db_session: Session, secret: str, token: str) -> bytes:
    """A PNG with a new answer for `token`; an earlier picture's answer and tries are forgotten
    (the refresh button, or a page shown again by Back)."""
    answer = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
    now = utcnow()
    values = {"answer_digest": _digest(secret, token, answer), "tries": 0, "created_at": now}
    db_session.execute(insert_for(db_session, CaptchaChallenge).values(token=token, **values)
                       .on_conflict_do_update(index_elements=[CaptchaChallenge.token], set_=values))
    # SKIP LOCKED: two pictures at once do not wait for each other's purge (SQLite omits it).
    stale = (select(CaptchaChallenge.id).where(CaptchaChallenge.created_at <= now - LIFETIME)
             .limit(_PURGE_BATCH).with_for_update(skip_locked=True))
    db_session.execute(delete(CaptchaChallenge).where(CaptchaChallenge.id.in_(stale))
                       .execution_options(synchronize_session=False))
    return _generator.generate(answer).getvalue()


def take(db_session: Session, secret: str, token: str, typed: str, *, max_tries: int) -> str | None:
    """None when `typed` answers `token`'s picture, which is then used up; else the message to
    show. Wrong answers are counted, and the picture dies at `max_tries`."""
    challenge = CaptchaChallenge.token == token
    alive = CaptchaChallenge.created_at > utcnow() - LIFETIME
    right = CaptchaChallenge.answer_digest == _digest(secret, token, typed.strip())
    # One statement decides: of two submissions of one answer, only one deletes the row.
    if db_session.execute(delete(CaptchaChallenge).where(challenge, alive, right)
                          .execution_options(synchronize_session=False)).rowcount == 1:
        return None
    tries = db_session.scalar(update(CaptchaChallenge).where(challenge, alive)
                              .values(tries=CaptchaChallenge.tries + 1).returning(CaptchaChallenge.tries)
                              .execution_options(synchronize_session=False))
    if tries is None:
        return EXPIRED
    if tries >= max_tries:
        db_session.execute(delete(CaptchaChallenge).where(challenge).execution_options(synchronize_session=False))
        return TOO_MANY
    return WRONG


def answer_of(db_session: Session, secret: str, token: str) -> str | None:
    """The answer of `token`'s latest picture, for the test hook: only its digest is stored, so
    it is found as only the holder of the secret can, by trying all 4,096 answers (a few ms)."""
    digest = db_session.scalar(select(CaptchaChallenge.answer_digest).where(CaptchaChallenge.token == token))
    if digest is None:
        return None
    candidates = map("".join, itertools.product(_ALPHABET, repeat=_LENGTH))
    return next((answer for answer in candidates if _digest(secret, token, answer) == digest), None)
