"""Text a database or a screen cannot hold — NUL and the other control characters, zero-width
characters, bidirectional overrides and isolates, the byte-order mark — is refused with a clear
message wherever it can come in: every text field of the application form and of the API, every
console form, every path and query string. The suite runs on PostgreSQL too, which refuses a NUL
outright (SQLite would store it)."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select
from wtforms import StringField

from models import Order, StaffRole
from public.forms import ApplicationForm, form_fields
from public.openapi import APPLICATION_EXAMPLE
from tests import factories
from tests.test_route_table import console_values, filled

UNSAFE = ["\x00", "\x07", "\t", "\x1b", "\x7f", "\x85", "\u061c", "\u200b", "\u200d", "\u200e", "\u200f", "\u2028",
          "\u2029", "\u2060", "\u2063", "\u202e", "\u2066", "\u206f", "\ufeff"]
TEXT_FIELDS = sorted(name for name, kind in form_fields(ApplicationForm).items() if issubclass(kind, StringField))
SAMPLE = {name: "x" for name in TEXT_FIELDS}


def _orders(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(Order))


def _error_for(page: str, field: str) -> str:
    found = re.search(rf'data-error-for="{field}">([^<]*)<', page)
    return found.group(1) if found else ""


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_every_text_field_of_the_form_refuses_a_nul_and_keeps_the_rest(apply, db_session, form_data, field):
    before = _orders(db_session)
    typed = (form_data.get(field) or "某") + "\x00"
    response = apply(**{field: typed})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "控制字符" in _error_for(page, field)
    assert _orders(db_session) == before
    # what the applicant typed in the other fields is still there
    assert form_data["org_name"] in page and form_data["mailing_address"] in page


@pytest.mark.parametrize("character", UNSAFE)
def test_invisible_and_control_characters_are_refused(apply, db_session, character):
    before = _orders(db_session)
    response = apply(org_name=f"郑州{character}信源科技有限公司")
    assert response.status_code == 200 and _error_for(response.get_data(as_text=True), "org_name")
    assert _orders(db_session) == before


def test_required_fields_blank_after_trimming_are_refused(apply, db_session):
    before = _orders(db_session)
    page = apply(org_name="   ", agent_name="\u3000 ", mailing_address=" \u00a0 ").get_data(as_text=True)
    for field in ("org_name", "agent_name", "mailing_address"):
        assert _error_for(page, field), field
    assert _orders(db_session) == before


def test_surrounding_whitespace_is_trimmed_before_it_is_kept(apply, db_session):
    response = apply(org_name="  郑州信源测试科技有限公司  ")
    assert response.status_code == 302
    order = db_session.scalars(select(Order).order_by(Order.id.desc())).first()
    assert order.organisation.name == "郑州信源测试科技有限公司"


@pytest.fixture
def api_headers(runner):
    output = runner.invoke(args=["channel", "create", "敌意输入渠道", "--code", "hostile"]).output
    return {"Authorization": "Bearer " + output.split("api key:")[1].strip()}


@pytest.mark.parametrize("field", [f for f in TEXT_FIELDS if f != "captcha"])
def test_every_text_field_of_the_api_refuses_a_nul(client, db_session, api_headers, field):
    before = _orders(db_session)
    body = {**APPLICATION_EXAMPLE, field: (APPLICATION_EXAMPLE.get(field) or "x") + "\x00"}
    response = client.post("/api/v1/applications", json=body, headers=api_headers)
    assert response.status_code == 422
    assert field in {e["field"] for e in response.get_json()["errors"]}
    assert _orders(db_session) == before


def test_the_api_refuses_lone_surrogates(client, db_session, api_headers):
    body = json.dumps({**APPLICATION_EXAMPLE, "org_name": "\ud800"})  # valid JSON, no valid text
    response = client.post("/api/v1/applications", data=body, content_type="application/json", headers=api_headers)
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["org_name"]


def _console_get_urls(app, number: str, material_id: int):
    values = console_values(number, material_id)
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/console") and "GET" in rule.methods and not rule.endpoint.endswith("static"):
            yield filled(rule, values)


def test_every_console_page_refuses_unsafe_text_in_its_query(app, client, db_session, login_as):
    """Odd values (numbers past a column, impossible dates, LIKE patterns) in every parameter each
    page reads: tests/test_hostile_fuzz.py."""
    from models import Material

    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    material_id = db_session.scalar(select(Material.id).where(Material.order_id == order.id))
    number = order.number
    db_session.commit()
    login_as(StaffRole.ADMIN)
    failures = []
    for url in _console_get_urls(app, number, material_id):
        refused = client.get(url, query_string={"q": "a\x00b", "search": "\u202e"})
        if refused.status_code != 400:
            failures.append(f"{url} with a NUL -> {refused.status_code}")
    assert not failures, "\n".join(failures)


def test_an_unsafe_path_is_refused_in_the_visitors_language(client):
    chinese = client.get("/apply/2026%00")
    assert chinese.status_code == 400 and "控制字符" in chinese.get_data(as_text=True)
    english = client.get("/console/orders/%E2%80%AE?lang=en")
    assert english.status_code == 400 and "control or invisible characters" in english.get_data(as_text=True)


def test_a_review_note_with_control_characters_is_refused(app, client, db_session, login_as):
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    number, order_id = order.number, order.id
    db_session.commit()
    login_as(StaffRole.REVIEWER)
    client.post(f"/console/orders/{number}/claim")
    response = client.post(f"/console/orders/{number}/decide",
                           data={"decision": "reject", "note": "line one\nline\x00two"}, follow_redirects=True)
    assert response.status_code == 200
    assert db_session.get(Order, order_id).status.value == "in_review"
    accepted = client.post(f"/console/orders/{number}/decide",
                           data={"decision": "reject", "note": "第一行\r\n第二行"}, follow_redirects=True)
    assert accepted.status_code == 200
    db_session.expire_all()
    assert db_session.get(Order, order_id).status.value == "rejected"


def test_admin_forms_refuse_unsafe_text(client, db_session, login_as):
    login_as(StaffRole.ADMIN)
    response = client.post("/console/admin/channels/new/", data={"code": "nul\x00code", "name": "渠道",
                                                                 "active": "y"})
    assert response.status_code == 200
    assert "控制字符" in response.get_data(as_text=True)
    from models import Channel

    assert db_session.scalar(select(func.count()).select_from(Channel).where(Channel.name == "渠道")) == 0


def test_staff_sign_in_refuses_a_nul_in_the_username(client, db_session):
    response = client.post("/console/login", data={"username": "admin\x00", "password": "whatever-password"})
    assert response.status_code == 200


@pytest.mark.parametrize(("field", "value"), [("id_number", "91350100M000100Y43\x00"),
                                              ("agent_phone", "1391234\u200b5678"), ("sms_code", "12\x0034")])
def test_the_order_query_refuses_unsafe_text(client, db_session, field, value):
    from models import SmsCode
    from tests.conftest import solve_captcha

    data = {"cert_kind": "unit", "id_type": "credit_code", "id_number": "91350100M000100Y43",
            "agent_phone": "13912345678", **solve_captcha(client, "/query")}
    if field == "sms_code":
        client.post("/query", data=data)
        response = client.post("/query/verify", data={"sms_code": value})
        assert response.status_code == 200 and 'data-error-for="sms_code"' in response.get_data(as_text=True)
        return
    response = client.post("/query", data={**data, field: value})
    assert response.status_code == 200 and "控制字符" in _error_for(response.get_data(as_text=True), field)
    assert db_session.scalar(select(func.count()).select_from(SmsCode)) == 0



def _revocation_text_fields() -> list[str]:
    from public.revocation_views import RevocationForm

    return sorted(name for name, kind in form_fields(RevocationForm).items() if issubclass(kind, StringField))


@pytest.mark.parametrize("field", _revocation_text_fields())
def test_every_text_field_of_the_revocation_form_refuses_a_nul(app, client, db_session, latest_sms, field):
    from tests.public.test_revocation import certified_order, enter_query_code, request_data, revocations

    credit_code, phone, _, serial = certified_order(app, db_session)
    enter_query_code(client, db_session, latest_sms, credit_code, phone)
    typed = request_data()
    response = client.post(f"/revocation/{serial}", data={**typed, field: (typed[field] or "x") + "\x00"})
    assert response.status_code == 200
    assert "control or invisible characters" in _error_for(response.get_data(as_text=True), field)
    assert revocations(db_session) == []
