"""How the web app's calls to the signing service are authenticated: HMAC-SHA256 with the shared
SIGNING_SERVICE_KEY, hex in `X-Signature`, as notifications.http signs its JSON bodies, but over
more than the body: a Unix timestamp (`X-Signing-Timestamp`), the method and the path as well.
The path keeps a signed revocation from being posted to another endpoint; the timestamp bounds
a replay to a short window (`WINDOW`). Inside it a replay changes nothing: issuing is answered
by job ID, a revoked certificate is answered as revoked, and a CRL published again is merely
newer.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

TIMESTAMP_HEADER = "X-Signing-Timestamp"
SIGNATURE_HEADER = "X-Signature"
WINDOW = 120  # seconds either side: both processes run on one host or share NTP


def signature(key: bytes, timestamp: str, method: str, path: str, body: bytes) -> str:
    message = f"{timestamp}\n{method.upper()}\n{path}\n".encode() + body
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signed_headers(key: bytes, method: str, path: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(key, timestamp, method, path, body)}


def problem(key: bytes, headers: Mapping[str, str], method: str, path: str, body: bytes,
            now: float | None = None) -> str | None:
    """Why the call is not authentic, or None when it is."""
    timestamp, given = headers.get(TIMESTAMP_HEADER, ""), headers.get(SIGNATURE_HEADER, "")
    if not timestamp.isdigit() or not given:
        return "the call is not signed"
    if abs(int(timestamp) - (now if now is not None else time.time())) > WINDOW:
        return "the call's timestamp is outside the window"
    if not hmac.compare_digest(given.encode(), signature(key, timestamp, method, path, body).encode()):
        return "the call's signature does not verify"
    return None
