"""Every state-changing route takes a form only with its page's CSRF token, signed in or not — but for
the routes whose callers prove themselves in a header or a signature, never a cookie (the channel
API, the station agents' and the key helper's APIs, the payment provider's notifications): those the
route table (tests/test_route_table.py) shows refusing a caller without that proof. Routes are picked
up from the URL map, so a new form is covered as it lands."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from models import AuditEntry, Order, StaffRole
from tests.test_route_table import Caller, caller_of, filled

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
HEADER_PROOF = {Caller.CHANNEL_KEY, Caller.STATION, Caller.PAIRING_CODE, Caller.HELPER, Caller.PROVIDER}
EXPIRED = "This form was open too long, or was sent from another site, so nothing was done."


def _state_changing(app):
    for rule in app.url_map.iter_rules():
        url = filled(rule, {}, default="1")
        for method in sorted(rule.methods & STATE_CHANGING):
            yield rule, method, url


def _counts(db_session) -> tuple[int, int]:
    db_session.expire_all()
    return (db_session.scalar(select(func.count()).select_from(Order)),
            db_session.scalar(select(func.count()).select_from(AuditEntry)))


@pytest.fixture
def guarded(make_app, client, login_as):
    """A client of an app that checks CSRF tokens, signed in as an admin (the session cookie of
    `client`, signed in through the real pages)."""
    login_as(StaffRole.ADMIN)
    guarded = make_app(WTF_CSRF_ENABLED=True).test_client()
    guarded.set_cookie("session", client.get_cookie("session").value)
    assert guarded.get("/console/search").status_code == 200
    return guarded


def test_every_form_needs_its_csrf_token(guarded, db_session, form_data):
    before = _counts(db_session)
    wrong, exempt = [], set()
    cases = list(_state_changing(guarded.application))
    assert len(cases) > 150
    for rule, method, url in cases:
        response = guarded.open(url + "?lang=en", method=method, data=form_data)
        if not rule.rule.startswith("/console") and caller_of(rule) in HEADER_PROOF:
            exempt.add(caller_of(rule))
            if response.status_code == 400 and EXPIRED in response.get_data(as_text=True):
                wrong.append(f"{method} {url} ({rule.endpoint}): refused for want of a CSRF token it needs not")
        elif response.status_code != 400 or EXPIRED not in response.get_data(as_text=True):
            wrong.append(f"{method} {url} ({rule.endpoint}) -> {response.status_code}")
    assert not wrong, "\n".join(wrong)
    assert exempt == HEADER_PROOF
    assert _counts(db_session) == before


def test_a_form_with_its_token_goes_through(make_app, db_session):
    guarded = make_app(WTF_CSRF_ENABLED=True).test_client()
    page = guarded.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = guarded.post("/console/login", data={"csrf_token": token, "username": "nobody",
                                                    "password": "wrong-password-123"})
    assert response.status_code == 200 and EXPIRED not in response.get_data(as_text=True)


def test_a_form_sent_from_another_site_is_refused_in_the_visitors_language(make_app, db_session):
    guarded = make_app(WTF_CSRF_ENABLED=True).test_client()
    guarded.get("/query")
    response = guarded.post("/query", data={"csrf_token": "forged", "cert_kind": "unit"})
    assert response.status_code == 400
    assert "表单" in response.get_data(as_text=True)
