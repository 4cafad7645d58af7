"""The channel API: key authentication, field errors, the whole flow by program."""
from __future__ import annotations

import pytest
from openapi_spec_validator import validate
from PIL import Image
from sqlalchemy import select

from models import Material
from public.openapi import APPLICATION_EXAMPLE
from tests.conftest import MATERIAL_KINDS, image_bytes, sms_code_in


@pytest.fixture
def api_key(runner):
    result = runner.invoke(args=["channel", "create", "某市公共资源交易中心", "--code", "ggzy-test"])
    assert result.exit_code == 0, result.output
    return result.output.split("api key:")[1].strip()


@pytest.fixture
def api(client, api_key):
    class Api:
        headers = {"Authorization": f"Bearer {api_key}"}

        def post(self, url, **kw):
            return client.post(url, headers=self.headers, **kw)

        def put(self, url, **kw):
            return client.put(url, headers=self.headers, **kw)

        def get(self, url):
            return client.get(url, headers=self.headers)

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


def test_requests_without_a_valid_key_are_refused(client):
    assert client.post("/api/v1/applications", json=APPLICATION_EXAMPLE).status_code == 401
    response = client.post("/api/v1/applications", json=APPLICATION_EXAMPLE,
                           headers={"Authorization": "Bearer cak_wrong"})
    assert response.status_code == 401


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
    code = sms_code_in(latest_sms("13912345678"))
    assert api.post(f"/api/v1/applications/{number}/signature",
                    json={"sms_code": "x"}).status_code == 422
    done = api.post(f"/api/v1/applications/{number}/signature", json={"sms_code": code})
    assert done.get_json()["status"] == "awaiting_payment"
    reused = api.post(f"/api/v1/applications/{number}/signature", json={"sms_code": code})
    assert reused.status_code == 409
    # the channel shows the QR code; once the applicant has paid, the order says so
    trade = api.get(f"/api/v1/applications/{number}/payment").get_json()
    assert trade["amount_cents"] == done.get_json()["price_cents"] and trade["qr_code"].endswith(number)
    billing_services.provider.pay(number)  # the notification is late: the next call asks the provider
    assert api.get(f"/api/v1/applications/{number}/payment").status_code == 409
    assert api.get(f"/api/v1/applications/{number}").get_json()["status"] == "paid"


def test_a_channel_sees_only_its_own_orders(api, order_number):
    assert api.get(f"/api/v1/applications/{order_number}").status_code == 404


def test_an_upload_is_checked_and_reduced_like_the_form(api, app, db_session, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path))
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
    stored = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert [path.name for path in stored] == [material.stored_name]
    assert Image.open(stored[0]).size == (3508, 877)
