"""The one way we talk to an outside service over HTTP: a JSON body signed with
HMAC-SHA256 in `X-Signature`, a JSON answer back."""
from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import urllib.error
import urllib.request


class ServiceUnavailable(Exception):
    """The service could not be reached, did not answer in time or hung up half-way, answered with
    an HTTP error, or not with JSON."""


class SignedJsonService:
    """One outside service as configured: its URL, the key shared with it, how long to wait."""

    def __init__(self, url: str, key: str, timeout: float, *, missing: str):
        if not url or not key:
            raise ValueError(missing)
        self.url = url
        self.key = key.encode()
        self.timeout = timeout

    def post(self, payload: dict) -> dict:
        body = json.dumps(payload, ensure_ascii=False).encode()
        signature = hmac.new(self.key, body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json", "X-Signature": signature})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise ServiceUnavailable(f"answered HTTP {exc.code}") from exc
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # OSError: refused, reset, timed out (URLError too); HTTPException: an answer cut short.
            raise ServiceUnavailable(f"unreachable: {exc}") from exc
        if not isinstance(answer, dict):
            raise ServiceUnavailable("answered something other than a JSON object")
        return answer
