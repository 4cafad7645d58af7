"""The processes a load test (and a test that needs real processes) starts: each on a free port,
its output in a log, stopped with SIGTERM (killed after `stop_wait` seconds) when done."""
from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running(args: list[str], env: dict, log: Path, *, stop_wait: float = 60) -> Iterator[subprocess.Popen]:
    """`args` started in the project's folder, its output appended to `log`."""
    with log.open("ab") as out:
        process = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=stop_wait)
        except subprocess.TimeoutExpired:
            process.kill()
