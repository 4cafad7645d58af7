"""The web app's side of the signing service: an HTTP adapter of issuance.interfaces.SigningService
(SIGNING_SERVICE=http, the only implementation: the web app never holds a CA key, so there is
no in-process signer to choose), registered with the service registry.

Calls are signed as issuance.wire says. A refusal (422) is raised as PolicyRefused with the
service's rule; anything else that is not an answer (no connection, a timeout, a 5xx, a 401
from a key that differs between the two processes) as SigningUnavailable, after which asking
again with the same job ID is safe.
"""
from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from flask import Flask

from issuance import wire
from issuance.interfaces import (
    Issued,
    PolicyRefused,
    Published,
    Revoked,
    SigningService,
    SigningUnavailable,
    Superseded,
)
from models import RevocationReason
from web import services
from web.services import Implementation

TIMEOUT = 30.0  # seconds; a PKCS#11 token signs in milliseconds, but a CRL of many entries takes longer


class HttpSigningService:
    def __init__(self, url: str, key: str, timeout: float = TIMEOUT):
        self.url = url.rstrip("/")
        self.key = key.encode()
        self.timeout = timeout

    def issue(self, job_id: str, order_number: str, csr_pem: str) -> Issued:
        answer = self._post("/api/v1/certificates", {"job_id": job_id, "order_number": order_number,
                                                     "csr_pem": csr_pem})
        return Issued(serial_number=answer["serial_number"], certificate_pem=answer["certificate_pem"],
                      chain_pem=list(answer["chain_pem"]), not_before=_time(answer["not_before"]),
                      not_after=_time(answer["not_after"]))

    def revoke(self, serial_number: str, reason: RevocationReason, *, requested_by: str,
               confirmed_by: str) -> Revoked:
        return _revoked(self._post("/api/v1/revocations", {"serial_number": serial_number, "reason": int(reason),
                                                           "requested_by": requested_by,
                                                           "confirmed_by": confirmed_by}))

    def revoke_for_order(self, order_number: str) -> Revoked:
        return _revoked(self._post("/api/v1/order-revocations", {"order_number": order_number}))

    def supersede_for_order(self, order_number: str) -> Superseded:
        answer = self._post("/api/v1/order-supersessions", {"order_number": order_number})
        return Superseded(serial_number=answer["serial_number"], superseded_at=_time(answer["superseded_at"]))

    def withdraw(self, serial_number: str, *, job_id: str, requested_by: str) -> Revoked:
        return _revoked(self._post("/api/v1/withdrawals", {"serial_number": serial_number, "job_id": job_id,
                                                           "requested_by": requested_by}))

    def publish_crl(self) -> Published:
        answer = self._post("/api/v1/crls", {})
        return Published(crl_number=answer["crl_number"], this_update=_time(answer["this_update"]),
                         next_update=_time(answer["next_update"]), revoked_count=answer["revoked_count"])

    def _post(self, path: str, payload: dict) -> dict[str, Any]:
        body = json.dumps(payload, ensure_ascii=False).encode()
        # The path is signed as the service sees it, below wherever SIGNING_SERVICE_URL mounts it.
        request = urllib.request.Request(
            self.url + path, data=body, method="POST",
            headers={"Content-Type": "application/json", **wire.signed_headers(self.key, "POST", path, body)})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            with exc:
                answer = _json_of(exc)
            if exc.code == 422 and "rule" in answer:
                raise PolicyRefused(answer["rule"], answer.get("message", "")) from None
            raise SigningUnavailable(f"the signing service answered HTTP {exc.code}: "
                                     f"{answer.get('message', exc.reason)}") from None
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            raise SigningUnavailable(f"the signing service at {self.url} cannot be reached: {exc}") from exc


def _json_of(error: urllib.error.HTTPError) -> dict:
    try:
        answer = json.load(error)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _revoked(answer: dict[str, Any]) -> Revoked:
    return Revoked(serial_number=answer["serial_number"], revoked_at=_time(answer["revoked_at"]),
                   reason=RevocationReason(answer["reason"]), crl_number=answer["crl_number"])


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _key_file_warning(config: Mapping[str, Any]) -> str | None:
    if config["CA_SIGNER"] == "keyfile":
        return "CA_SIGNER=keyfile: the CA key is not on a token"
    return None


def register(app: Flask) -> None:
    """SIGNING_SERVICE chooses; `http`, the only one, needs the service's URL and the shared key.
    Production warns at start when the signing service's CA key is a file."""
    services.register(app, SigningService, "SIGNING_SERVICE", {
        "http": Implementation(lambda config: HttpSigningService(config["SIGNING_SERVICE_URL"],
                                                                 config["SIGNING_SERVICE_KEY"]),
                               needs=("SIGNING_SERVICE_URL", "SIGNING_SERVICE_KEY"), warning=_key_file_warning),
    })
