"""A local stand-in for an outside service that takes signed JSON (bank, verifier, carrier):
it checks the HMAC signature as the real one does and answers with the test's function."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def signed_json_service(key: str, answer: Callable[[dict], dict], path: str = "/") -> Iterator[tuple[str, list]]:
    """Yields (url, received requests); a bad signature gets HTTP 403."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            expected = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(self.headers.get("X-Signature", ""), expected):
                self._send(403, {"ok": False, "error": "bad signature"})
                return
            request = json.loads(body)
            received.append(request)
            self._send(200, answer(request))

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{path}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
