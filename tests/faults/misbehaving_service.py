"""An outside service (an SMS carrier, Alipay's gateway) that misbehaves over real HTTP on
127.0.0.1: it takes the request and never answers (the caller's timeout runs out), or cuts its
answer short and hangs up, or answers as the real one does. Its `mode` may change between calls."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SILENT, CUT_SHORT, ANSWER = "silent", "cut short", "answer"


class MisbehavingService:
    def __init__(self, answer: bytes, content_type: str = "application/json"):
        self.mode = ANSWER
        self.answer, self.content_type = answer, content_type
        self.received: list[tuple[str, bytes]] = []  # (the mode it met, the request) of every request
        self._held: list[socket.socket] = []

    def answered(self) -> int:
        """How many requests got a whole answer."""
        return sum(1 for mode, _ in self.received if mode == ANSWER)

    def serve(self, connection: socket.socket) -> None:
        request = _read_request(connection)
        mode = self.mode
        self.received.append((mode, request))
        if mode == SILENT:
            self._held.append(connection)  # kept open, never answered, closed when the service stops
            return
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: {self.content_type}\r\n"
                f"Content-Length: {len(self.answer)}\r\nConnection: close\r\n\r\n").encode()
        body = self.answer if mode == ANSWER else self.answer[: len(self.answer) // 2]
        connection.sendall(head + body)
        connection.close()

    def close(self) -> None:
        for connection in self._held:
            connection.close()


def _read_request(connection: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536) or b"\r\n\r\n"
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        body += connection.recv(65536) or b" " * (length - len(body))
    return body


@contextmanager
def misbehaving_service(answer: bytes, content_type: str = "application/json",
                        path: str = "/") -> Iterator[tuple[str, MisbehavingService]]:
    """Yields the service's URL and the service, whose `mode` the test sets."""
    service = MisbehavingService(answer, content_type)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)
    stopping = threading.Event()

    def accept() -> None:
        while not stopping.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            connection.settimeout(5)
            service.serve(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}{path}", service
    finally:
        stopping.set()
        thread.join()
        service.close()
        listener.close()
