"""The channel API: key authentication, field errors, the whole flow by program. Every answer a
test gets through the `api` fixture is checked against the OpenAPI document: its status is
documented for the operation and its JSON body matches the documented schema."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate
from PIL import Image
from sqlalchemy import select

from documents.storage import DocumentStore
from models import Material
from public.openapi import APPLICATION_EXAMPLE
from tests import factories
from tests.conftest import MATERIAL_KINDS, image_bytes, sms_code_in


@pytest.fixture
def api_key(runner):
    result = runner.invoke(args=["channel", "create", "某市公共资源交易中心", "--code", "ggzy-test"])
    assert result.exit_code == 0, result.output
    return result.output.split("api key:")[1].strip()


def _inlined(value, components):
    if isinstance(value, dict):
        if "$ref" in value:
            return _inlined(components[value["$ref"].rsplit("/", 1)[1]], components)
        return {key: _inlined(item, components) for key, item in value.items()}
    if isinstance(value, list):
        return [_inlined(item, components) for item in value]
    return value


def conform(spec: dict, method: str, url: str, response) -> None:
    """The answer is one the OpenAPI document promises for this operation."""
    path = url.split("?")[0]
    for template, operations in spec["paths"].items():
        if re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", template), path) and method in operations:
            break
    else:
        raise AssertionError(f"{method.upper()} {path} is not in the OpenAPI document")
    documented = operations[method]["responses"]
    assert str(response.status_code) in documented, (
        f"{method.upper()} {template} answered {response.status_code}, not documented: {sorted(documented)}")
    assert response.is_json, f"{method.upper()} {template} answered {response.content_type}, not JSON"
    content = documented[str(response.status_code)].get("content", {}).get("application/json")
    if content:
        schema = _inlined(content["schema"], spec["components"]["schemas"])
        OAS30Validator(schema).validate(response.get_json())


@pytest.fixture
def spec(client):
    return client.get("/api/openapi.json").get_json()


@pytest.fixture
def api(client, api_key, spec):
    class Api:
        headers = {"Authorization": f"Bearer {api_key}"}

        def _call(self, method, url, headers=None, **kw):
            response = client.open(url, method=method.upper(), headers={**self.headers, **(headers or {})}, **kw)
            conform(spec, method, url, response)
            return response

        def post(self, url, **kw):
            return self._call("post", url, **kw)

        def put(self, url, **kw):
            return self._call("put", url, **kw)

        def get(self, url, **kw):
            return self._call("get", url, **kw)

    return Api()


def test_openapi_document_is_valid_and_names_fields_in_snake_case(client):
    document = client.get("/api/openapi.json").get_json()
    validate(document)
    schema = document["components"]["schemas"]["Application"]
    assert {"credit_code", "legal_rep_id_number", "agent_email"} <= set(schema["properties"])
    example = document["paths"]["/api/v1/applications"]["post"]["requestBody"]["content"][
        "application/json"]["example"]
    assert set(example) == set(schema["properties"])
    assert set(schema["required"]) <= {k for k, v in example.items() if v not in ("", None)}


def test_requests_without_a_valid_key_are_refused(client, spec):
    response = client.post("/api/v1/applications", json=APPLICATION_EXAMPLE)
    assert response.status_code == 401
    conform(spec, "post", "/api/v1/applications", response)
    response = client.post("/api/v1/applications", json=APPLICATION_EXAMPLE,
                           headers={"Authorization": "Bearer cak_wrong"})
    assert response.status_code == 401
    conform(spec, "post", "/api/v1/applications", response)


def test_invalid_input_answers_422_with_field_errors(api):
    body = {**APPLICATION_EXAMPLE, "credit_code": "91350100M000100Y4I", "agent_phone": "12"}
    del body["org_name"]
    response = api.post("/api/v1/applications", json=body)
    assert response.status_code == 422
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert fields == {"credit_code", "agent_phone", "org_name"}
    assert api.post("/api/v1/applications", data="nonsense").status_code == 422


def test_the_documented_example_creates_an_order(api, client):
    example = client.get("/api/openapi.json").get_json()["paths"]["/api/v1/applications"][
        "post"]["requestBody"]["content"]["application/json"]["example"]
    response = api.post("/api/v1/applications", json=example)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "awaiting_materials" and body["number"][8] == "U"
    assert api.get(f"/api/v1/applications/{body['number']}").get_json() == body


def test_whole_flow_by_program(api, latest_sms, db_session, billing_services):
    number = api.post("/api/v1/applications", json=APPLICATION_EXAMPLE).get_json()["number"]
    bad = api.put(f"/api/v1/applications/{number}/materials/business_licence", data=b"GIF89a")
    assert bad.status_code == 422
    missing = api.post(f"/api/v1/applications/{number}/signature-code")
    assert missing.status_code == 409 and len(missing.get_json()["missing"]) == 5
    for kind in MATERIAL_KINDS:
        response = api.put(f"/api/v1/applications/{number}/materials/{kind}",
                           data=image_bytes("JPEG"), content_type="image/jpeg")
        assert response.status_code == 200
    assert all(response.get_json()["materials"].values())
    sent = api.post(f"/api/v1/applications/{number}/signature-code")
    assert sent.status_code == 202 and sent.get_json()["sent_to"] == "139****5678"
    assert "申请电子签名认证证书" in sent.get_json()["consent_text"]
    code = sms_code_in(latest_sms("13912345678"))
    assert api.post(f"/api/v1/applications/{number}/signature",
                    json={"sms_code": "x", "consent": True}).status_code == 422
    done = api.post(f"/api/v1/applications/{number}/signature", json={"sms_code": code, "consent": True})
    assert done.get_json()["status"] == "awaiting_payment"
    reused = api.post(f"/api/v1/applications/{number}/signature", json={"sms_code": code, "consent": True})
    assert reused.status_code == 409
    # the channel shows the QR code; once the applicant has paid, the order says so
    trade = api.get(f"/api/v1/applications/{number}/payment").get_json()
    assert trade["amount_cents"] == done.get_json()["price_cents"] and trade["qr_code"].endswith(number)
    billing_services.provider.pay(number)  # the notification is late: the next call asks the provider
    assert api.get(f"/api/v1/applications/{number}/payment").status_code == 409
    assert api.get(f"/api/v1/applications/{number}").get_json()["status"] == "paid"


def test_a_channel_sees_only_its_own_orders(api, order_number):
    assert api.get(f"/api/v1/applications/{order_number}").status_code == 404


def _orders(db_session) -> int:
    from sqlalchemy import func, select

    from models import Order

    return db_session.scalar(select(func.count()).select_from(Order))


@pytest.mark.parametrize("consent", ["true", "false", "y", 1, 0, "no", {}, [], False, None])
def test_only_json_true_is_agreement(api, db_session, consent):
    before = _orders(db_session)
    response = api.post("/api/v1/applications", json={**APPLICATION_EXAMPLE, "consent": consent})
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["consent"]
    assert _orders(db_session) == before


@pytest.mark.parametrize("value", [["a", "b"], 91350100, {"name": "x"}, True, 1.5])
@pytest.mark.parametrize("field", ["org_name", "credit_code", "agent_email", "region_province", "product"])
def test_string_fields_refuse_other_json_types(api, db_session, field, value):
    before = _orders(db_session)
    response = api.post("/api/v1/applications", json={**APPLICATION_EXAMPLE, field: value})
    assert response.status_code == 422
    assert response.get_json()["errors"] == [{"field": field, "message": "must be a string"}]
    assert _orders(db_session) == before


def test_a_field_the_form_does_not_have_is_refused(api):
    response = api.post("/api/v1/applications", json={**APPLICATION_EXAMPLE, "price_cents": 0})
    assert response.status_code == 422
    assert response.get_json()["errors"] == [{"field": "price_cents", "message": "unknown field"}]


def _ready_for_signature(api) -> str:
    number = api.post("/api/v1/applications", json=APPLICATION_EXAMPLE).get_json()["number"]
    for kind in MATERIAL_KINDS:
        api.put(f"/api/v1/applications/{number}/materials/{kind}", data=image_bytes("PNG"),
                content_type="image/png")
    assert api.post(f"/api/v1/applications/{number}/signature-code").status_code == 202
    return number


@pytest.mark.parametrize("body", [{}, {"consent": True}, {"sms_code": 123456, "consent": True},
                                  {"sms_code": "CODE"}, {"sms_code": "CODE", "consent": "true"},
                                  {"sms_code": "CODE", "consent": 1}, {"sms_code": "CODE", "consent": False}])
def test_the_signature_needs_the_code_as_a_string_and_consent_as_json_true(api, latest_sms, body):
    number = _ready_for_signature(api)
    code = sms_code_in(latest_sms("13912345678"))
    body = {key: (code if value == "CODE" else value) for key, value in body.items()}
    refused = api.post(f"/api/v1/applications/{number}/signature", json=body)
    assert refused.status_code == 422
    assert api.get(f"/api/v1/applications/{number}").get_json()["status"] == "awaiting_signature"
    # the code was not used up by the refused call
    done = api.post(f"/api/v1/applications/{number}/signature", json={"sms_code": code, "consent": True})
    assert done.get_json()["status"] == "awaiting_payment"


def test_an_idempotency_key_answers_a_retry_with_the_first_answer(api, db_session):
    key = {"Idempotency-Key": "retry-7f3a"}
    before = _orders(db_session)
    first = api.post("/api/v1/applications", json=APPLICATION_EXAMPLE, headers=key)
    again = api.post("/api/v1/applications", json=APPLICATION_EXAMPLE, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert _orders(db_session) == before + 1
    other_body = api.post("/api/v1/applications", json={**APPLICATION_EXAMPLE, "org_name": "另一家公司"},
                          headers=key)
    assert other_body.status_code == 422 and other_body.get_json()["errors"][0]["field"] == "Idempotency-Key"
    assert _orders(db_session) == before + 1
    # without a key, each call acts
    api.post("/api/v1/applications", json=APPLICATION_EXAMPLE)
    assert _orders(db_session) == before + 2


def test_a_refused_call_keeps_nothing_under_its_key(api, db_session):
    key = {"Idempotency-Key": "fix-and-retry"}
    broken = {**APPLICATION_EXAMPLE, "agent_phone": "12"}
    assert api.post("/api/v1/applications", json=broken, headers=key).status_code == 422
    assert api.post("/api/v1/applications", json=APPLICATION_EXAMPLE, headers=key).status_code == 201


def test_an_idempotency_key_lasts_a_day_and_belongs_to_its_channel(api, db_session, runner, client):
    import time_machine

    key = {"Idempotency-Key": "daily"}
    first = api.post("/api/v1/applications", json=APPLICATION_EXAMPLE, headers=key).get_json()["number"]
    other_key = runner.invoke(args=["channel", "create", "另一渠道", "--code", "other-test"]).output
    other = client.post("/api/v1/applications", json=APPLICATION_EXAMPLE, headers={
        **key, "Authorization": "Bearer " + other_key.split("api key:")[1].strip()})
    assert other.status_code == 201 and other.get_json()["number"] != first
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)):
        later = api.post("/api/v1/applications", json=APPLICATION_EXAMPLE, headers=key)
    assert later.status_code == 201 and later.get_json()["number"] != first


@pytest.mark.parametrize("key", ["", "a" * 256, "bad\x00key", "tab\tkey"])
def test_a_malformed_idempotency_key_is_refused(api, key):
    response = api.post("/api/v1/applications", json=APPLICATION_EXAMPLE, headers={"Idempotency-Key": key})
    assert response.status_code == 422


def test_two_calls_with_one_key_at_once_file_one_order(tmp_path, tmp_path_factory, database_url):
    from sqlalchemy import func, select

    from models import Order
    from tests.databases import at_once, own_app
    from web.extensions import db

    with own_app(tmp_path, tmp_path_factory, database_url) as app:
        key = app.test_cli_runner().invoke(args=["channel", "create", "并发渠道", "--code", "race"]).output
        headers = {"Authorization": "Bearer " + key.split("api key:")[1].strip(), "Idempotency-Key": "once"}
        answers = at_once([lambda: app.test_client().post("/api/v1/applications", json=APPLICATION_EXAMPLE,
                                                          headers=headers) for _ in range(2)])
        assert sorted(a.status_code for a in answers) == [200, 201]
        assert answers[0].get_json()["number"] == answers[1].get_json()["number"]
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Order)) == 1


def test_the_catalogue_lists_the_codes_the_application_takes(api):
    catalogue = api.get("/api/v1/catalogue").get_json()
    products = {p["code"]: p for p in catalogue["products"]}
    assert APPLICATION_EXAMPLE["product"] in products
    assert APPLICATION_EXAMPLE["media_model"] in {m["code"] for m in catalogue["media_models"]}
    prices = products[APPLICATION_EXAMPLE["product"]]["prices_cents"]
    assert prices["unlock"] == 0 and prices["new"] > 0


def test_signature_codes_are_counted_per_channel_not_per_ip(api, app):
    app.config.update(SMS_CODES_PER_IP_PER_HOUR=1, SMS_CODES_PER_CHANNEL_PER_HOUR=2)
    try:
        numbers = []
        for phone in ("13912340001", "13912340002", "13912340003"):
            number = api.post("/api/v1/applications",
                              json={**APPLICATION_EXAMPLE, "agent_phone": phone}).get_json()["number"]
            for kind in MATERIAL_KINDS:
                api.put(f"/api/v1/applications/{number}/materials/{kind}", data=image_bytes("PNG"),
                        content_type="image/png")
            numbers.append(number)
        answers = [api.post(f"/api/v1/applications/{number}/signature-code") for number in numbers]
        # two codes from one address although one is allowed per IP; the channel's budget stops the third
        assert [a.status_code for a in answers] == [202, 202, 429]
        assert "budget" in answers[2].get_json()["error"]
    finally:
        app.config.update(SMS_CODES_PER_IP_PER_HOUR=20, SMS_CODES_PER_CHANNEL_PER_HOUR=1000)


def test_errors_are_json_and_documented(api, app):
    assert api.get("/api/v1/applications/%00").status_code == 400
    big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    number = api.post("/api/v1/applications", json=APPLICATION_EXAMPLE).get_json()["number"]
    too_large = api.put(f"/api/v1/applications/{number}/materials/business_licence", data=big,
                        content_type="image/png")
    assert too_large.status_code == 413 and too_large.get_json()["error"]
    assert api.put(f"/api/v1/applications/{number}/materials/passport", data=image_bytes(),
                   content_type="image/png").status_code == 404


def test_rate_limited_calls_answer_documented_json(rate_limited_app, api_key, db_session, spec):
    client = rate_limited_app.test_client()
    headers = {"Authorization": f"Bearer {api_key}"}
    answers = [client.get("/api/v1/catalogue", headers=headers) for _ in range(61)]
    assert answers[-1].status_code == 429
    conform(spec, "get", "/api/v1/catalogue", answers[-1])
    assert answers[-1].headers["Retry-After"]


def test_the_documented_upload_media_types_are_the_accepted_ones(api, spec):
    number = api.post("/api/v1/applications", json=APPLICATION_EXAMPLE).get_json()["number"]
    documented = spec["paths"]["/api/v1/applications/{number}/materials/{kind}"]["put"]["requestBody"]["content"]
    assert set(documented) == {"image/jpeg", "image/png", "image/bmp"}
    for fmt in ("JPEG", "PNG", "BMP"):
        assert api.put(f"/api/v1/applications/{number}/materials/business_licence", data=image_bytes(fmt),
                       content_type=f"image/{fmt.lower()}").status_code == 200
    assert api.put(f"/api/v1/applications/{number}/materials/business_licence", data=image_bytes("GIF"),
                   content_type="image/gif").status_code == 422


def test_an_upload_is_checked_and_reduced_like_the_form(api, app, db_session, tmp_path, replace_service):
    store = replace_service(DocumentStore, factories.folder_store(tmp_path))
    number = api.post("/api/v1/applications", json=APPLICATION_EXAMPLE).get_json()["number"]
    url = f"/api/v1/applications/{number}/materials/business_licence"
    jpeg = image_bytes("JPEG", size=(400, 300))
    cut_short = api.put(url, data=jpeg[:-100], content_type="image/jpeg")
    assert cut_short.status_code == 422
    assert cut_short.get_json()["errors"][0]["message"] == "The file is not a readable image."
    huge = api.put(url, data=image_bytes("PNG", size=(6300, 6300)), content_type="image/png")
    assert huge.status_code == 422 and huge.get_json()["errors"][0]["message"] == "The image has too many pixels."
    assert not [path for path in tmp_path.rglob("*") if path.is_file()]
    assert api.put(url, data=image_bytes("JPEG", size=(4000, 1000)), content_type="image/jpeg").status_code == 200
    material = db_session.scalars(select(Material)).one()
    assert (material.width, material.height) == (3508, 877)
    assert list(store.names()) == [material.stored_name]
    assert Image.open(io.BytesIO(store.read(material.stored_name))).size == (3508, 877)


def test_an_upload_the_document_store_cannot_keep_answers_503_and_keeps_no_row(api, db_session, replace_service):
    """The store's S3 service refuses the connection: a documented 503, and no material row."""
    from tests.public.test_upload_storage import refusing_store

    number = api.post("/api/v1/applications", json=APPLICATION_EXAMPLE).get_json()["number"]
    with refusing_store() as store:
        replace_service(DocumentStore, store)
        answer = api.put(f"/api/v1/applications/{number}/materials/business_licence", data=image_bytes(),
                         content_type="image/png")
    assert answer.status_code == 503
    assert answer.get_json() == {"error": "the document store is unavailable; nothing was kept, try again"}
    assert db_session.scalars(select(Material)).all() == []


# --- faults the API fuzz found (tests/public/test_api_fuzz.py) ----------------------------------

def test_a_method_the_address_does_not_take_answers_405_naming_those_it_does(api, client):
    answer = client.delete("/api/v1/catalogue", headers=api.headers)
    assert answer.status_code == 405 and answer.get_json() == {"error": "method not allowed"}
    assert set(answer.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    page = client.put("/c/direct/apply")
    assert page.status_code == 405 and "POST" in page.headers["Allow"]


def _signed(api, latest_sms) -> str:
    """An order of the channel's, materials in and signed: it awaits payment."""
    number = api.post("/api/v1/applications", json=APPLICATION_EXAMPLE).get_json()["number"]
    for kind in MATERIAL_KINDS:
        api.put(f"/api/v1/applications/{number}/materials/{kind}", data=image_bytes(), content_type="image/png")
    api.post(f"/api/v1/applications/{number}/signature-code")
    code = sms_code_in(latest_sms(APPLICATION_EXAMPLE["agent_phone"]))
    assert api.post(f"/api/v1/applications/{number}/signature",
                    json={"sms_code": code, "consent": True}).status_code == 200
    return number


def test_a_signature_code_for_an_order_signed_already_is_refused_not_a_crash(api, latest_sms, db_session,
                                                                            billing_services):
    number = _signed(api, latest_sms)
    answer = api.post(f"/api/v1/applications/{number}/signature-code")
    assert answer.status_code == 409
    assert answer.get_json() == {"error": "the order is not waiting for a signature"}
    assert api.get(f"/api/v1/applications/{number}").get_json()["status"] == "awaiting_payment"


@pytest.mark.parametrize("url", ["/api/v1/applications", "/api/v1/applications/{number}/signature"])
def test_json_nested_too_deeply_is_refused_as_not_an_object(api, url):
    number = api.post("/api/v1/applications", json=APPLICATION_EXAMPLE).get_json()["number"]
    answer = api.post(url.format(number=number), data=b"[" * 100_000 + b"]" * 100_000,
                      content_type="application/json")
    assert answer.status_code == 422
    assert answer.get_json() == {"errors": [{"field": None, "message": "the body must be a JSON object"}]}


@pytest.mark.parametrize("call", ["signature", "signature-code"])
def test_a_body_too_large_for_the_signature_calls_answers_a_documented_413(api, app, call):
    number = api.post("/api/v1/applications", json=APPLICATION_EXAMPLE).get_json()["number"]
    answer = api.post(f"/api/v1/applications/{number}/{call}", headers={"Idempotency-Key": "too-large"},
                      data=b"{" + b" " * app.config["MAX_CONTENT_LENGTH"] + b"}", content_type="application/json")
    assert answer.status_code == 413 and answer.get_json() == {"error": "the request body is too large"}
