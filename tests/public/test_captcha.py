"""The image captcha: its answer kept on the server, bound to the page's token, taken once."""
from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import CaptchaChallenge, Order
from models.base import utcnow
from public import captcha
from public.openapi import APPLICATION_EXAMPLE
from tests.conftest import solve_captcha
from web.database import is_writing_request
from web.extensions import db

APPLY = "/c/direct/apply"


def _orders(db_session) -> int:
    return db_session.scalar(select(func.count(Order.id)))


def test_a_solved_captcha_files_one_order(client, app, form_data, db_session):
    solved = solve_captcha(client, APPLY)
    assert client.post(APPLY, data={**form_data, **solved}).status_code == 302
    # The same solved form again, from this browser and from a copy of its cookie.
    replay = client.post(APPLY, data={**form_data, **solved})
    assert replay.status_code == 200 and 'data-error-for="captcha"' in replay.get_data(as_text=True)
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    assert copy.post(APPLY, data={**form_data, **solved}).status_code == 200
    assert _orders(db_session) == 1


def test_neither_the_cookie_nor_the_database_holds_the_answer(client, app, db_session):
    solved = solve_captcha(client, APPLY)
    cookie = client.get_cookie("session")
    session = app.session_interface.get_signing_serializer(app).loads(cookie.value) if cookie else {}
    assert not [key for key in session if "captcha" in key]
    row = db_session.scalar(select(CaptchaChallenge).where(CaptchaChallenge.token == solved["captcha_token"]))
    # An HMAC keyed with the server secret, over the token: not the old bare SHA-256 of 4 digits.
    assert row.answer_digest == captcha._digest(app.config["SECRET_KEY"], row.token, solved["captcha"])
    assert row.answer_digest != hashlib.sha256(solved["captcha"].encode()).hexdigest()


def test_a_cookie_overwritten_by_a_parallel_response_does_not_lose_the_answer(client, form_data, db_session):
    # The page's parallel requests: a response that left before the picture's but lands after
    # it sets the cookie as it was before the picture.
    page = client.get(f"{APPLY}?lang=en").get_data(as_text=True)
    token = page.split('name="captcha_token" value="', 1)[1].split('"', 1)[0]
    before = client.get_cookie("session")
    assert client.get(f"/captcha.png?t={token}").status_code == 200
    if before is None:
        client.delete_cookie("session")
    else:
        client.set_cookie("session", before.value)
    answer = client.get(f"/_test/captcha?t={token}").get_data(as_text=True)
    response = client.post(APPLY, data={**form_data, "captcha_token": token, "captcha": answer})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def test_wrong_answers_are_counted_until_the_picture_dies(client, app, form_data, db_session):
    solved = solve_captcha(client, f"{APPLY}?lang=en")
    for _ in range(2):
        page = client.post(APPLY, data={**form_data, **solved, "captcha": "0000"}).get_data(as_text=True)
        assert "The captcha is wrong." in page
    challenge = CaptchaChallenge.token == solved["captcha_token"]
    assert db_session.scalar(select(CaptchaChallenge.tries).where(challenge)) == 2
    for _ in range(app.config["CAPTCHA_MAX_ATTEMPTS"] - 2):
        page = client.post(APPLY, data={**form_data, **solved, "captcha": "0000"}).get_data(as_text=True)
    assert "Too many wrong answers. Please use the new picture." in page
    assert db_session.scalar(select(CaptchaChallenge).where(challenge)) is None
    page = client.post(APPLY, data={**form_data, **solved}).get_data(as_text=True)
    assert "The captcha has expired. Please use the new picture." in page
    assert _orders(db_session) == 0


def test_a_new_picture_for_the_same_token_replaces_the_answer_and_its_tries(client, form_data, db_session):
    solved = solve_captcha(client, APPLY)
    client.post(APPLY, data={**form_data, **solved, "captcha": "0000"})
    token = solved["captcha_token"]
    client.get(f"/captcha.png?t={token}&r=2")  # the refresh button
    answer = client.get(f"/_test/captcha?t={token}").get_data(as_text=True)
    assert db_session.scalar(select(CaptchaChallenge.tries).where(CaptchaChallenge.token == token)) == 0
    assert client.post(APPLY, data={**form_data, "captcha_token": token, "captcha": answer}).status_code == 302


def test_an_old_picture_expires_and_stale_ones_are_purged(client, form_data, db_session):
    solved = solve_captcha(client, f"{APPLY}?lang=en")
    old = utcnow() - captcha.LIFETIME
    db_session.execute(update(CaptchaChallenge).where(CaptchaChallenge.token == solved["captcha_token"])
                       .values(created_at=old))
    db_session.commit()
    page = client.post(APPLY, data={**form_data, **solved}).get_data(as_text=True)
    assert "The captcha has expired. Please use the new picture." in page
    solve_captcha(client, APPLY)  # a new picture purges the stale ones
    assert db_session.scalar(select(func.count()).where(CaptchaChallenge.created_at <= old)) == 0


def test_the_picture_needs_a_token_and_takes_the_write_lock(client, app):
    assert client.get("/captcha.png").status_code == 404
    assert client.get("/captcha.png?t=short").status_code == 404
    assert client.get("/_test/captcha?t=" + captcha.new_token()).status_code == 404  # no picture yet
    with app.test_request_context(f"/captcha.png?t={captcha.new_token()}"):
        assert is_writing_request()  # SQLite: BEGIN IMMEDIATE, as for a POST


def test_the_order_query_captcha_serves_one_query(client, db_session):
    solved = solve_captcha(client, "/query")
    query = {"cert_kind": "unit", "id_type": "credit_code", "id_number": APPLICATION_EXAMPLE["credit_code"],
             "agent_phone": "13800009999", **solved}
    assert client.post("/query", data=query).headers["Location"].endswith("/query/verify")
    replay = client.post("/query", data=query)
    assert replay.status_code == 200 and 'data-error-for="captcha"' in replay.get_data(as_text=True)


def test_two_submissions_of_one_answer_at_once_exactly_one_wins(app):
    """As two processes would: each in its own transaction; the second waits for the first's DELETE."""
    with app.app_context():
        engine = db.engine
    secret, token = app.config["SECRET_KEY"], captcha.new_token()
    with Session(engine) as setup:
        captcha.new_picture(setup, secret, token)
        setup.commit()
        answer = captcha.answer_of(setup, secret, token)

    def take() -> str | None:
        with Session(engine) as session:
            started.set()
            problem = captcha.take(session, secret, token, answer, max_tries=5)
            session.commit()
            return problem

    started = threading.Event()
    with ThreadPoolExecutor(1) as pool, Session(engine) as first:
        assert captcha.take(first, secret, token, answer, max_tries=5) is None
        second = pool.submit(take)
        started.wait(5)
        time.sleep(0.2)  # the second is now waiting for the first's lock
        first.commit()
        assert second.result(timeout=30) == captcha.EXPIRED
