"""The web app reaches the signing service through the registry's `http` client; production
needs the shared key and warns while the CA key is a file."""
from __future__ import annotations

import logging

import pytest

from issuance.client import HttpSigningService
from issuance.interfaces import SigningService
from tests.conftest import PRODUCTION
from web.services import find_service


def test_the_web_app_finds_the_http_client(app):
    with app.app_context():
        service = find_service(SigningService)
    assert isinstance(service, HttpSigningService)
    assert service.url == app.config["SIGNING_SERVICE_URL"] == "http://127.0.0.1:5001"


def test_production_warns_while_the_ca_key_is_a_file(make_app, caplog, monkeypatch):
    # Alembic's fileConfig in the migrations disabled the loggers that existed then.
    monkeypatch.setattr(logging.getLogger("web.services"), "disabled", False)
    with caplog.at_level(logging.WARNING):
        make_app(**PRODUCTION, CA_SIGNER="pkcs11")
    assert "not on a token" not in caplog.text
    with caplog.at_level(logging.WARNING):
        make_app(**PRODUCTION)
    assert "SIGNING_SERVICE=http: CA_SIGNER=keyfile: the CA key is not on a token" in caplog.text


def test_production_needs_the_signing_key(make_app):
    with pytest.raises(RuntimeError, match="SIGNING_SERVICE_KEY"):
        make_app(**PRODUCTION, SIGNING_SERVICE_KEY="")
