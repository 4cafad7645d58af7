"""`make audit`: pip-audit where a vulnerability service answers, and a plain line, passing, where none
does (an offline machine, a mirror without PyPI's JSON API)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

ROOT = Path(__file__).resolve().parents[2]


def _audit(tmp_path: Path, service: str) -> subprocess.CompletedProcess:
    """scripts/audit.sh with a pip-audit that writes down how it was called instead of asking PyPI."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "python").symlink_to(sys.executable)
    called = tmp_path / "pip-audit-called"
    (bin_dir / "pip-audit").write_text(f"#!/bin/sh\necho \"$@\" > {called}\necho 'No known vulnerabilities found'\n")
    (bin_dir / "pip-audit").chmod(0o755)
    return subprocess.run(["bash", "scripts/audit.sh"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "VENV_BIN": str(bin_dir), "AUDIT_SERVICE_URL": service})


def test_without_a_vulnerability_service_the_audit_says_so_and_passes(tmp_path):
    done = _audit(tmp_path, "http://127.0.0.1:9/pypi")  # nothing listens on the discard port
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "audit skipped: no vulnerability service"
    assert not (tmp_path / "pip-audit-called").exists()


class _Pypi(BaseHTTPRequestHandler):
    answer: dict = {}

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = json.dumps(self.answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _served(answer: dict) -> ThreadingHTTPServer:
    handler = type("Pypi", (_Pypi,), {"answer": answer})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_where_the_service_answers_pip_audit_checks_every_pinned_requirement(tmp_path):
    server = _served({"info": {}, "vulnerabilities": []})
    try:
        done = _audit(tmp_path, f"http://127.0.0.1:{server.server_port}/pypi")
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0 and "audit skipped" not in done.stdout
    assert (tmp_path / "pip-audit-called").read_text().split() == [
        "--strict", "-r", "requirements.txt", "-r", "requirements-dev.txt"]


def test_a_mirror_without_vulnerability_data_is_no_service(tmp_path):
    server = _served({"info": {"name": "flask"}})  # the JSON API of a mirror that keeps no advisories
    try:
        done = _audit(tmp_path, f"http://127.0.0.1:{server.server_port}/pypi")
    finally:
        server.shutdown()
        server.server_close()
    assert done.stdout.strip() == "audit skipped: no vulnerability service"
