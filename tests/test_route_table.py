"""Every route outside the console × who may call it: the public pages, the channel API, the station
agents' API, the key helper's pairing and API, the payment provider's notifications, the sandboxes,
and the signing service. Routes are picked up from the URL maps, so a new route without a row here
fails. (The console's table, every staff route × every role, is tests/test_staff_routes.py.)

Each kind of caller has its test: a caller without the proof the kind needs (another browser, no
key, another channel's key, no credential, no signature) is refused and learns nothing of the order."""
from __future__ import annotations

import re
from enum import Enum

import pytest
from sqlalchemy import func, select

from issuance import store
from issuance.signing_app import create_signing_app
from models import Material, Order, Payment
from tests import factories
from tests.conftest import PRODUCTION


class Caller(Enum):
    ANYONE = "anyone"
    APPLICANT = "the browser that filed the order (or took it over with the order query's SMS code)"
    QUERY_CODE = "a browser that entered the order query's SMS code"
    KEY_PAGE = "the browser that opened the key page"
    CHANNEL_KEY = "a channel's API key, for that channel's orders"
    STATION = "a station agent's credential"
    PAIRING_CODE = "the key helper with the pairing code the key page shows"
    HELPER = "a paired key helper's credential"
    PROVIDER = "the payment provider's signature"
    SANDBOX = "nobody in production: the sandbox payment provider's cashier"
    TESTING = "nobody in production: the development and load-test hooks"
    SIGNED_CALL = "the web app, each call signed with the signing service's key"
    SIGNED_LINK = "the signed link in a renewal reminder e-mail"


A = Caller
CALLERS = {
    "static": A.ANYONE, "health.healthz": A.ANYONE,
    **{f"public.{name}": A.ANYONE for name in (
        "index", "channel_home", "new_application", "new_personal_application", "service_page", "captcha_image",
        "regions_json", "legal_document", "sample_picture", "key_helper_help", "order_query", "query_verify",
        "change_start", "change_code", "change_personal_code", "change_verify", "change_by_key", "renewal_start",
        "unlock_start")},
    **{f"public.{name}": A.APPLICANT for name in (
        "confirm_page", "done_page", "edit_application", "edit_personal_application", "printable_form", "invoice_pdf",
        "order_key_page", "materials_page", "material_image", "materials_done", "more_materials", "payment_page",
        "payment_status", "payment_proof", "signature_page", "signature_code", "replacement_edit",
        "revocation_confirm")},
    **{f"public.{name}": A.QUERY_CODE for name in (
        "query_results", "query_invoice", "query_continue", "change_certificates", "renewal_choice",
        "renewal_post_form", "renewal_post_confirm", "replacement_orders", "replacement_form",
        "revocation_certificates", "revocation_form")},
    # change_form and change_confirm serve both /change/certificates/<serial> (the SMS code) and
    # /change/key/<public_id> (the key page): their rows are by URL below.
    **{f"public.{name}": A.KEY_PAGE for name in (
        "key_page", "key_status", "key_code", "key_retry", "unlock_page", "unlock_code", "unlock_code_again",
        "unlock_done", "renewal_form", "renewal_confirm")},
    "api.openapi_document": A.ANYONE,
    **{f"api.{name}": A.CHANNEL_KEY for name in (
        "catalogue_listing", "create_application", "application_status", "upload_material", "payment",
        "send_signature_code", "confirm_signature")},
    **{f"station_api.{name}": A.STATION for name in (
        "poll", "step", "certificate", "finish", "failure", "wipe_done", "wipe_failure", "unlock_done",
        "unlock_failure")},
    "helper_api.pair": A.PAIRING_CODE,
    **{f"helper_api.{name}": A.HELPER for name in (
        "poll", "steps", "login", "certificate", "finish", "failure", "unlocked")},
    "public.payment_notification": A.PROVIDER,
    "public.stop_reminders": A.SIGNED_LINK, "public.resume_reminders": A.SIGNED_LINK,
    "sandbox_wallet.cashier": A.SANDBOX, "sandbox_wallet.pay": A.SANDBOX,
    "testing_hooks.captcha_answer": A.TESTING,
}
BY_URL = {"/change/certificates/": A.QUERY_CODE, "/change/key/": A.KEY_PAGE}
SIGNING_SERVICE = {"issue": A.SIGNED_CALL, "revoke": A.SIGNED_CALL, "revoke_for_order": A.SIGNED_CALL,
                   "supersede_for_order": A.SIGNED_CALL, "withdraw": A.SIGNED_CALL, "publish_crl": A.SIGNED_CALL,
                   "crl": A.ANYONE, "ca_certificate": A.ANYONE, "ocsp_post": A.ANYONE, "ocsp_get": A.ANYONE}


def caller_of(rule) -> Caller:
    for prefix, caller in BY_URL.items():
        if rule.rule.startswith(prefix):
            return caller
    return CALLERS[rule.endpoint]


def _routes(app, values: dict, *callers: Caller):
    """(endpoint, method, url) of every route outside the console that `callers` may call."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/console") or caller_of(rule) not in callers:
            continue
        url = filled(rule, values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def filled(rule, values: dict, default: str | None = None) -> str:
    """The rule's URL with each argument replaced by its value in `values` (else `default`)."""
    def value(argument: re.Match) -> str:
        name = argument.group(1)
        return str(values[name] if default is None else values.get(name, default))

    return re.sub(r"<(?:\w+:)?(\w+)>", value, rule.rule)


def console_values(number: str, material_id: int) -> dict:
    """A value for every argument of the console's routes (tests/test_staff_routes.py,
    tests/test_hostile_text.py): the order and material given, ids of nothing elsewhere."""
    return {"number": number, "material_id": material_id, "name": "new", "export_type": "csv", "refund_id": 1,
            "invoice_id": 1, "serial": "00" * 16, "public_id": "JNOSUCHJOB", "station_id": 1, "shipment_id": 1,
            "staff_id": 1, "outbox": "sms", "message_id": 1}


def _values(**known) -> dict:
    return {"channel_code": "direct", "material_id": 1, "invoice_id": 1, "kind": "business_licence",
            "document": "privacy", "slug": "new", "out_trade_no": "NOSUCH", "filename": "app.css",
            "token": "t" * 32, "task_id": "TNOSUCH", "public_id": "HNOSUCH", "number": "20260101U000001",
            "serial": "00" * 16, **known}


@pytest.fixture
def filed(app, db_session):
    """An order filed, paid and certified in another browser: (number, material id, serial, the
    organisation's name), committed."""
    from tests.public.test_revocation import issue

    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    material_id = db_session.scalar(select(Material.id).where(Material.order_id == order.id))
    serial = issue(db_session, order)
    facts = order.number, material_id, serial, order.organisation.name
    db_session.commit()
    return facts


def test_every_route_has_a_row(app):
    rules = [rule for rule in app.url_map.iter_rules() if not rule.rule.startswith("/console")]
    assert [rule.rule for rule in rules if rule.endpoint not in CALLERS and not rule.rule.startswith(tuple(BY_URL))
            ] == [], "routes without a row"
    assert CALLERS.keys() - {rule.endpoint for rule in rules} == set(), "rows without a route"


def test_the_signing_service_has_a_row_for_every_route(app):
    with _signing_app(app) as signing:
        assert {rule.endpoint for rule in signing.url_map.iter_rules()} == SIGNING_SERVICE.keys()


def test_pages_for_anyone_answer_anyone(app, client, db_session, filed):
    values = _values(number=filed[0])
    wrong = [f"{method} {url} -> {response.status_code}" for _, method, url in _routes(app, values, A.ANYONE)
             if (response := client.open(url, method=method)).status_code in (401, 403) or response.status_code >= 500]
    assert not wrong, "\n".join(wrong)


def test_an_order_shows_and_changes_for_its_applicant_alone(app, client, db_session, filed):
    number, material_id, serial, organisation = filed
    status = db_session.scalar(select(Order.status).where(Order.number == number))
    wrong = []
    for endpoint, method, url in _routes(app, _values(number=number, material_id=material_id), A.APPLICANT):
        response = client.open(url, method=method, data={"decision": "approve"})  # a stranger's browser
        if response.status_code != 404 or organisation in response.get_data().decode("utf-8", "replace"):
            wrong.append(f"{method} {url} ({endpoint}) -> {response.status_code}")
    assert not wrong, "\n".join(wrong)
    assert db_session.scalar(select(Order.status).where(Order.number == number)) == status


def test_the_order_querys_pages_send_a_stranger_to_the_query(app, client, db_session, filed):
    number, _, serial, organisation = filed
    wrong = []
    for endpoint, method, url in _routes(app, _values(number=number, serial=serial), A.QUERY_CODE):
        response = client.open(url, method=method)
        page = response.get_data().decode("utf-8", "replace")
        start = response.headers.get("Location", "").split("?")[0]
        if response.status_code == 404 and organisation not in page and endpoint == "public.query_invoice":
            continue  # an invoice: not found, the same for every number, until the code is entered
        if response.status_code != 302 or start not in ("/query", "/c/direct/change") or organisation in page:
            wrong.append(f"{method} {url} ({endpoint}) -> {response.status_code} {start}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("start", ["/c/direct/renewal", "/c/direct/unlock", "/c/direct/change/key"])
def test_a_key_page_is_its_browsers_alone(app, client, db_session, start):
    owner = app.test_client()
    public_id = owner.get(start).headers["Location"].rsplit("/", 1)[1]
    wrong = []
    for endpoint, method, url in _routes(app, _values(public_id=public_id), A.KEY_PAGE):
        if owner.open(url, method=method).status_code == 404:
            wrong.append(f"{method} {url} ({endpoint}): not found for its owner either")
        if (response := client.open(url, method=method)).status_code != 404:
            wrong.append(f"{method} {url} ({endpoint}) -> {response.status_code} for another browser")
    assert not wrong, "\n".join(wrong)


@pytest.fixture
def channel_keys(runner):
    def make(code: str) -> dict:
        output = runner.invoke(args=["channel", "create", f"渠道{code}", "--code", code]).output
        return {"Authorization": "Bearer " + output.split("api key:")[1].strip()}
    return make


def test_the_channel_api_needs_the_channels_own_key(app, client, db_session, channel_keys):
    from public.openapi import APPLICATION_EXAMPLE

    ours, theirs = channel_keys("ours"), channel_keys("theirs")
    created = client.post("/api/v1/applications", json=APPLICATION_EXAMPLE, headers=ours)
    assert created.status_code == 201
    number = created.get_json()["number"]
    wrong = []
    for endpoint, method, url in _routes(app, _values(number=number), A.CHANNEL_KEY):
        for headers in ({}, {"Authorization": "Bearer not-a-key"}, {"Authorization": "Basic eDp5"}):
            if (response := client.open(url, method=method, json={}, headers=headers)).status_code != 401:
                wrong.append(f"{method} {url} ({endpoint}) {headers} -> {response.status_code}")
        if number in url and (response := client.open(url, method=method, json={}, headers=theirs)).status_code != 404:
            wrong.append(f"{method} {url} ({endpoint}) with another channel's key -> {response.status_code}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("caller", [A.STATION, A.HELPER])
def test_the_agents_and_helpers_api_need_their_credential(app, client, db_session, login_as, caller):
    from models import StaffRole

    login_as(StaffRole.ADMIN)  # a staff session is no credential
    wrong = []
    for endpoint, method, url in _routes(app, _values(public_id="J0000000000"), caller):
        for headers in ({}, {"Authorization": "Bearer not-a-credential"}):
            response = client.open(url, method=method, json={"tokens": [], "keys": []}, headers=headers)
            if response.status_code != 401 or response.get_json()["error"] != "unauthenticated":
                wrong.append(f"{method} {url} ({endpoint}) {headers} -> {response.status_code}")
    assert not wrong, "\n".join(wrong)


def test_pairing_needs_the_code_the_key_page_shows(app, client, db_session):
    (_, method, url), = _routes(app, _values(), A.PAIRING_CODE)
    for code in ("", "000000", "WRONG-CODE"):
        response = client.open(url, method=method, json={"code": code, "keys": []})
        assert response.status_code in (400, 422), (code, response.status_code)
        assert "credential" not in response.get_json()


def test_a_payment_notification_needs_the_providers_signature(app, client, db_session, filed):
    (_, method, url), = _routes(app, _values(), A.PROVIDER)
    paid = db_session.scalar(select(func.count()).select_from(Payment))
    forged = {"out_trade_no": filed[0], "trade_status": "TRADE_SUCCESS", "total_amount": "0.01", "sign": "AAAA",
              "sign_type": "RSA2", "trade_no": "2026120622001"}
    response = client.open(url, method=method, data=forged)
    assert response.status_code == 400 and response.get_data(as_text=True) != "success"
    assert db_session.scalar(select(func.count()).select_from(Payment)) == paid


def test_a_reminder_link_needs_a_token_the_app_signed_for_that_order(app, client, db_session, filed):
    from models import AuditEntry
    from notifications.opt_outs import applicant_of
    from public.reminder_links import stop_link

    number, organisation = filed[0], filed[3]
    applicant = applicant_of(db_session.scalar(select(Order).where(Order.number == number)))
    with app.app_context():  # the real link, and the same words signed for another order or applicant
        real, other_order, other_applicant = (stop_link("", *named).rsplit("/", 1)[1] for named in (
            (applicant, number), (applicant, "20260101U999999"), ("unit:91110000000000000X", number)))
    payload, stamp, signature = real.split(".")
    forged = ("B" if signature[0] == "A" else "A") + signature[1:]
    entries = db_session.scalar(select(func.count()).select_from(AuditEntry))
    wrong = []
    for token in ("t" * 32, f"{payload}.{stamp}.{forged}", f"{payload}x.{stamp}.{signature}", other_order,
                  other_applicant):
        for _, method, url in _routes(app, _values(token=token), A.SIGNED_LINK):
            response = client.open(url, method=method)
            if response.status_code != 404 or organisation in response.get_data(as_text=True):
                wrong.append(f"{method} {url} -> {response.status_code}")
    assert not wrong, "\n".join(wrong)
    assert db_session.scalar(select(func.count()).select_from(AuditEntry)) == entries
    assert client.get(f"/reminders/stop/{real}").status_code == 200  # the real one opens


def test_production_has_no_sandbox_and_no_testing_hooks(app, make_app):
    def hooks(served) -> list[str]:
        return [rule.rule for rule in served.url_map.iter_rules()
                if not rule.rule.startswith("/console") and caller_of(rule) in (A.SANDBOX, A.TESTING)]

    assert hooks(app)
    assert hooks(make_app(**PRODUCTION)) == []


class _signing_app:
    def __init__(self, app):
        self.sessions = store.make_sessions(app.config)
        self.app = create_signing_app(app.config, self.sessions)

    def __enter__(self):
        return self.app

    def __exit__(self, *exc):
        self.sessions.kw["bind"].dispose()


def test_the_signing_service_takes_only_signed_calls_but_for_what_relying_parties_fetch(app, db_session):
    with _signing_app(app) as signing:
        client = signing.test_client()
        wrong = []
        for rule in signing.url_map.iter_rules():
            url = filled(rule, {}, default="00")
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(url, method=method, json={})
                signed_only = SIGNING_SERVICE[rule.endpoint] is A.SIGNED_CALL
                if (response.status_code == 401) != signed_only or response.status_code >= 500:
                    wrong.append(f"{method} {url} ({rule.endpoint}) -> {response.status_code}")
        assert not wrong, "\n".join(wrong)
