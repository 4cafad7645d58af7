"""A back office speaking the station (or key helper) protocol over HTTP on 127.0.0.1, in a thread of the test: it
records every call and answers each path with the test's function (or the FakeBackOffice's)."""
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from protocol.station import API

# answer(path, body) -> (HTTP status, JSON answer)
Answer = Callable[[str, dict], tuple[int, dict]]


class Recorder:
    def __init__(self, answer: Answer):
        self.answer = answer
        self.calls: list[tuple[str, str, dict]] = []  # (path below API, Authorization, body)
        self.lock = threading.Lock()

    def paths(self) -> list[str]:
        with self.lock:
            return [path for path, _auth, _body in self.calls]


@contextmanager
def serving(answer: Answer, api: str = API) -> Iterator[tuple[str, Recorder]]:
    """The base URL and the recorder of a server answering with `answer` the paths below `api` (the
    station's, or protocol.helper.API); stopped afterwards."""
    recorder = Recorder(answer)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            path = self.path.removeprefix(api)
            with recorder.lock:
                recorder.calls.append((path, self.headers.get("Authorization", ""), body))
            status, answer = recorder.answer(path, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
