"""A WSGI app served on 127.0.0.1 from a thread, for what must reach it over HTTP: the browser, the
station agent's process, the web app's signing client."""
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
