"""The signing service's API takes only calls signed with the shared key, within the window, for
the path they were signed for; the web app's client turns its answers into the interface's
results and errors; both sides warn in production while the CA key is a file."""
from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request

import pytest

from issuance import store, wire
from issuance.client import HttpSigningService
from issuance.interfaces import PolicyRefused, SigningUnavailable
from issuance.signing_app import create_signing_app

pytestmark = pytest.mark.parametrize("signer_kind", ["keyfile"], indirect=True)
BODY = json.dumps({}).encode()


def post(url: str, path: str, body: bytes, headers: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url + path, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


@pytest.mark.parametrize("headers", [
    {},
    {wire.TIMESTAMP_HEADER: str(int(time.time()))},
    {wire.TIMESTAMP_HEADER: str(int(time.time())), wire.SIGNATURE_HEADER: "0" * 64},
])
def test_an_unsigned_or_badly_signed_call_is_refused(signing_url, headers):
    status, answer = post(signing_url, "/api/v1/crls", BODY, headers)
    assert status == 401 and answer["error"] == "unauthenticated"


def test_a_call_signed_with_another_key_or_too_long_ago_is_refused(signing_url, ca_app):
    key = ca_app.config["SIGNING_SERVICE_KEY"].encode()
    stale = wire.signed_headers(key, "POST", "/api/v1/crls", BODY, now=time.time() - wire.WINDOW - 5)
    assert post(signing_url, "/api/v1/crls", BODY, stale)[0] == 401
    other = wire.signed_headers(b"another key", "POST", "/api/v1/crls", BODY)
    assert post(signing_url, "/api/v1/crls", BODY, other)[0] == 401


def test_a_signature_holds_for_its_own_path_only(signing_url, ca_app):
    key = ca_app.config["SIGNING_SERVICE_KEY"].encode()
    body = json.dumps({"serial_number": "00", "reason": 1, "requested_by": "a", "confirmed_by": "b"}).encode()
    signed_for_crls = wire.signed_headers(key, "POST", "/api/v1/crls", body)
    assert post(signing_url, "/api/v1/revocations", body, signed_for_crls)[0] == 401
    assert post(signing_url, "/api/v1/crls", body, signed_for_crls)[0] == 200


def test_a_signed_call_with_missing_fields_is_refused_by_rule(signing, signing_url, ca_app):
    with pytest.raises(PolicyRefused) as refused:
        signing.issue("", "U2026", "")
    assert refused.value.rule == "request_invalid"
    body = json.dumps({"serial_number": "ab" * 16, "reason": "1", "requested_by": "a", "confirmed_by": "b"}).encode()
    headers = wire.signed_headers(ca_app.config["SIGNING_SERVICE_KEY"].encode(), "POST", "/api/v1/revocations", body)
    assert post(signing_url, "/api/v1/revocations", body, headers) == (422, {
        "error": "refused", "rule": "reason_not_allowed",
        "message": "the reason is an RFC 5280 reason code (a whole number)"})


def test_a_signed_call_nested_too_deep_is_refused_by_rule(signing_url, ca_app):
    body = b"[" * 100_000 + b"]" * 100_000
    headers = wire.signed_headers(ca_app.config["SIGNING_SERVICE_KEY"].encode(), "POST", "/api/v1/certificates", body)
    status, answer = post(signing_url, "/api/v1/certificates", body, headers)
    assert (status, answer["rule"]) == (422, "request_invalid")


def test_the_client_tells_a_wrong_key_and_no_service_from_a_refusal(signing_url):
    with pytest.raises(SigningUnavailable, match="HTTP 401"):
        HttpSigningService(signing_url, "another key").publish_crl()
    with pytest.raises(SigningUnavailable, match="cannot be reached"):
        HttpSigningService("http://127.0.0.1:9", "key", timeout=2).publish_crl()


def test_the_signing_service_warns_too(ca_app, caplog, monkeypatch):
    # Alembic's fileConfig in the migrations disabled the loggers that existed then.
    monkeypatch.setattr(logging.getLogger("issuance.signing_app"), "disabled", False)
    sessions = store.make_sessions(ca_app.config)
    with caplog.at_level(logging.WARNING):
        create_signing_app({**ca_app.config, "APP_ENV": "production"}, sessions)
    sessions.kw["bind"].dispose()
    assert "CA_SIGNER=keyfile: the CA key is not on a token" in caplog.text
    with pytest.raises(RuntimeError, match="SIGNING_SERVICE_KEY"):
        create_signing_app({**ca_app.config, "SIGNING_SERVICE_KEY": ""})
