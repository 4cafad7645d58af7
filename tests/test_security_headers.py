"""Every answer of every route, found or not, an error or not, carries the security headers: a
content security policy allowing the site's own scripts only and no framing, no MIME sniffing, no
referrer beyond the site, no camera or microphone, and no cache keeping a staff screen; production
adds HSTS and a session cookie for HTTPS only. Routes are picked up from the URL map."""
from __future__ import annotations

import re

import pytest

from models import Material, StaffRole
from tests import factories
from tests.conftest import PRODUCTION
from tests.test_route_table import _values, filled


def _get_urls(app, values: dict, staff: bool):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.rule.startswith("/console") == staff:
            yield filled(rule, values, default="1")


def _missing(response) -> list[str]:
    headers = response.headers
    policy = headers.get("Content-Security-Policy", "")
    expected = {
        "a policy of the site's own sources": "default-src 'self'" in policy and "object-src 'none'" in policy,
        "scripts of the site only": re.search(r"script-src 'self'( 'nonce-[\w-]+')?(;|$)", policy) is not None,
        "no framing": "frame-ancestors 'none'" in policy and headers.get("X-Frame-Options") == "DENY",
        "no sniffing": headers.get("X-Content-Type-Options") == "nosniff",
        "no referrer beyond the site": headers.get("Referrer-Policy") == "same-origin",
        "no camera or microphone": "camera=()" in headers.get("Permissions-Policy", "")
                                   and "microphone=()" in headers.get("Permissions-Policy", ""),
        "a cache policy": bool(headers.get("Cache-Control")),
    }
    return [name for name, present in expected.items() if not present]


def test_every_public_answer_carries_the_headers(app, client, db_session):
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    number = order.number
    db_session.commit()
    wrong = []
    for url in _get_urls(app, _values(number=number), staff=False):
        response = client.get(url)
        if missing := _missing(response):
            wrong.append(f"{url} -> {response.status_code}: {', '.join(missing)}")
    assert not wrong, "\n".join(wrong)


def test_every_staff_screen_carries_the_headers_and_stays_out_of_caches(app, client, db_session, login_as):
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    from sqlalchemy import select

    material_id = db_session.scalar(select(Material.id).where(Material.order_id == order.id))
    values = {"number": order.number, "material_id": material_id, "name": "new", "export_type": "csv",
              "serial": "00" * 16, "public_id": "JNOSUCHJOB"}
    db_session.commit()
    login_as(StaffRole.ADMIN)
    wrong = []
    for url in _get_urls(app, values, staff=True):
        response = client.get(url)
        missing = _missing(response)
        if "no-store" not in response.headers.get("Cache-Control", ""):
            missing.append("no-store")
        if missing:
            wrong.append(f"{url} -> {response.status_code}: {', '.join(missing)}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("url", ["/api/openapi.json", "/api/v1/catalogue", "/no/such/page", "/healthz"])
def test_api_answers_and_errors_carry_them_too(client, db_session, url):
    assert _missing(client.get(url)) == []


def test_production_asks_for_https_only(make_app, db_session):
    client = make_app(**PRODUCTION, WTF_CSRF_ENABLED=True).test_client()
    response = client.get("/c/direct/apply", base_url="https://ca.example")  # its form's CSRF token: a session
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = response.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_development_over_plain_http_keeps_its_session(make_app, db_session):
    response = make_app(WTF_CSRF_ENABLED=True).test_client().get("/c/direct/apply")
    assert "HttpOnly" in response.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in response.headers
    assert "Secure" not in response.headers.get("Set-Cookie", "")
