"""schemathesis over the channel API, from the OpenAPI document the app serves. Every operation
gets generated calls, positive and negative (schema examples, schemathesis' coverage cases and
random ones), on this channel's orders in each state and on numbers it does not have; every
answer must be no 5xx, a documented status with the documented content type and body, and a 405
must name the methods the address takes. A route added later is fuzzed once it is documented, and
an API route left out of the document fails `test_every_api_route_is_documented_and_fuzzed`.

Deterministic (derandomized, no example database) and bounded: at most MAX_EXAMPLES random calls
per operation besides the coverage cases. All the calls of one operation share one transaction,
rolled back at its end (tests.conftest.db_session): nothing leaks into other tests."""
from __future__ import annotations

import pathlib
import re
import tempfile

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation

from backoffice import create_app
from public.openapi import APPLICATION_EXAMPLE, IMAGE_TYPES
from tests.conftest import MATERIAL_KINDS, config_for_tests, image_bytes, sms_code_in
from web.extensions import db

MAX_EXAMPLES = 60
# A schema-valid call may still fail the form's own checks (check digits, phone formats,
# catalogue codes) or reuse an Idempotency-Key: 422 with field errors, never a 400, 413 or 415.
CONFIG = {"checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "401", "404", "409", "422", "429"]}}}


@st.composite
def _image(draw, image_format: str) -> bytes:
    """An image in `image_format` of a drawn size and colour, whole or cut short."""
    size = (draw(st.integers(1, 80)), draw(st.integers(1, 80)))
    data = image_bytes(image_format, size=size, color=draw(st.tuples(*[st.integers(0, 255)] * 3)))
    return data[: draw(st.one_of(st.just(len(data)), st.integers(0, len(data))))]


# A material's body: an image of its media type, whole or cut short, or any bytes at all.
for _media_type in IMAGE_TYPES:
    schemathesis.openapi.media_type(_media_type, st.one_of(_image(_media_type.split("/")[1].upper()),
                                                           st.binary(max_size=4096)))


class _Folders:
    """tmp_path_factory's mktemp, before any fixture exists."""

    def __init__(self, folder: str):
        self.folder = pathlib.Path(folder)

    def mktemp(self, name: str) -> pathlib.Path:
        path = self.folder / name
        path.mkdir()
        return path


def _served_schema():
    """The document as GET /api/openapi.json serves it, read through WSGI from an app of its own
    at collection (the test database's app is a fixture, made later; the document needs no
    database). The calls go to the test database's app (set by the test)."""
    with tempfile.TemporaryDirectory(prefix="api-fuzz-") as folder:
        app = create_app(config_for_tests(_Folders(folder), "sqlite://"))
        loaded = schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=SchemathesisConfig.from_dict(CONFIG))
        with app.app_context():
            db.engine.dispose()
    return loaded


schema = _served_schema()


@pytest.fixture
def channel_headers(runner) -> dict[str, str]:
    result = runner.invoke(args=["channel", "create", "模糊测试渠道", "--code", "fuzz"])
    assert result.exit_code == 0, result.output
    return {"Authorization": "Bearer " + result.output.split("api key:")[1].strip()}


def _call(client, headers: dict, method: str, url: str, status: int, **kw) -> dict:
    response = client.open(url, method=method, headers=headers, **kw)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def orders(client, channel_headers, latest_sms, billing_services, order_number) -> list[str]:
    """Orders a generated number may stand for: the channel's own, awaiting their materials, their
    signature (a code sent) and their payment; and another channel's."""
    phones = ["13912345670", "13912345671", "13912345672"]  # a code a minute per phone
    numbers = [_call(client, channel_headers, "POST", "/api/v1/applications", 201,
                     json={**APPLICATION_EXAMPLE, "agent_phone": phone})["number"] for phone in phones]
    for number in numbers[1:]:
        for kind in MATERIAL_KINDS:
            _call(client, channel_headers, "PUT", f"/api/v1/applications/{number}/materials/{kind}", 200,
                  data=image_bytes("PNG"), content_type="image/png")
        _call(client, channel_headers, "POST", f"/api/v1/applications/{number}/signature-code", 202)
    _call(client, channel_headers, "POST", f"/api/v1/applications/{numbers[2]}/signature", 200,
          json={"sms_code": sms_code_in(latest_sms(phones[2])), "consent": True})
    return [*numbers, order_number]


def _on_an_order(case, orders: list[str]) -> None:
    """A well-formed number generated for the path stands, by its last digit, for one of `orders`
    or (one time in len(orders) + 1) for itself, a number no channel has: the calls reach real
    orders in each state. A number generated to be malformed is sent as it is."""
    generated = (case.path_parameters or {}).get("number")
    if isinstance(generated, str) and generated[-1:].isdigit() and not case.meta.is_negative_at(
            ParameterLocation.PATH):
        choices = [*orders, generated]
        case.path_parameters["number"] = choices[int(generated[-1]) % len(choices)]


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
def test_every_api_operation_answers_as_documented(case, app, channel_headers, orders):
    case.operation.schema.app = app  # the calls, and the checks' own calls without the key
    _on_an_order(case, orders)
    case.call_and_validate(headers=channel_headers)


def test_every_api_route_is_documented_and_fuzzed(app):
    documented = {(method.upper(), path) for path, operations in schema.raw_schema["paths"].items()
                  for method in operations}
    routes = {(method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes and documented == routes
