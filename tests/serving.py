"""A WSGI app served on 127.0.0.1 from a thread, for what must reach it over HTTP: the browser, the
station agent's process, the web app's signing client; and a worker beside it, as `make run` has."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from werkzeug.serving import make_server


@contextmanager
def served(app) -> Iterator[str]:
    """Yields the app's base URL; stops the server afterwards."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll keeps shutdown, and so each fixture's end, from waiting half a second.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


@contextmanager
def working(app, poll: float = 0.1) -> Iterator[None]:
    """A worker in a thread doing the app's queued work and delivering its messages (no scheduled
    commands: a test runs those itself); stopped afterwards."""
    from backoffice.worker import work_until

    stop = threading.Event()

    def run() -> None:
        with app.app_context():
            work_until(app, "live-worker", [], stop, poll)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
