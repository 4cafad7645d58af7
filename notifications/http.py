"""The one way we talk to an outside service over HTTP: a JSON body signed with
HMAC-SHA256 in `X-Signature`, a JSON answer back."""
from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request


class ServiceUnavailable(Exception):
    """The service could not be reached, answered with an HTTP error, or not with JSON."""


def post_signed_json(url: str, key: bytes, payload: dict, timeout: float) -> dict:
    body = json.dumps(payload, ensure_ascii=False).encode()
    signature = hmac.new(key, body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", "X-Signature": signature})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise ServiceUnavailable(f"answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        raise ServiceUnavailable(f"unreachable: {exc}") from exc
    if not isinstance(answer, dict):
        raise ServiceUnavailable("answered something other than a JSON object")
    return answer
