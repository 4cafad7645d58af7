"""Local stand-ins for outside services (bank, verifier, carrier, Alipay's gateway):
a server on 127.0.0.1 in a thread that answers each POST with the test's function."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# respond(body, headers) -> (HTTP status, content type, answer body)
Responder = Callable[[bytes, dict], tuple[int, str, bytes]]


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Runs a handler on 127.0.0.1 in a thread; yields the base URL; stops it afterwards."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # A short poll keeps shutdown, and so each test, from waiting half a second.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _Quiet(BaseHTTPRequestHandler):
    def answer(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass


@contextmanager
def local_service(respond: Responder, path: str = "/") -> Iterator[str]:
    """Yields the service's URL; stops the server afterwards."""

    class Handler(_Quiet):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            self.answer(*respond(body, dict(self.headers)))

    with _serving(Handler) as base:
        yield base + path


@contextmanager
def file_service(files: dict[str, tuple[int, bytes]]) -> Iterator[tuple[str, list[str]]]:
    """A download host: answers GET for the paths in ``files`` (HTTP status, bytes), 404 for
    others. Yields (base URL, paths requested)."""
    requested: list[str] = []

    class Handler(_Quiet):
        def do_GET(self):
            requested.append(self.path)
            status, data = files.get(urllib.parse.urlsplit(self.path).path, (404, b"not found"))
            self.answer(status, "application/octet-stream", data)

    with _serving(Handler) as base:
        yield base, requested


@contextmanager
def signed_json_service(key: str, answer: Callable[[dict], dict], path: str = "/") -> Iterator[tuple[str, list]]:
    """A service taking JSON signed with HMAC-SHA256 in X-Signature; a bad signature gets
    HTTP 403. Yields (url, received requests)."""
    received: list[dict] = []

    def respond(body: bytes, headers: dict) -> tuple[int, str, bytes]:
        expected = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(headers.get("X-Signature", ""), expected):
            status, payload = 403, {"ok": False, "error": "bad signature"}
        else:
            request = json.loads(body)
            received.append(request)
            status, payload = 200, answer(request)
        return status, "application/json", json.dumps(payload, ensure_ascii=False).encode()

    with local_service(respond, path) as url:
        yield url, received
