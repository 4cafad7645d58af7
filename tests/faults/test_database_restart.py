"""PostgreSQL restarted under load: the test's own throw-away cluster, the app served over HTTP
on it, a stream of real requests (the channel API filing applications with an Idempotency-Key and
reading an order, an application page, the health check), and the server stopped (`pg_ctl stop -m
fast`, as a restart does) in the middle, then started again.

Every request meanwhile gets a clear answer within a bound: 503 with Retry-After (the API's JSON
error, the product's error page), never a 500 or a hang. The app recovers by itself once the
server is back: every request begun after that succeeds, no process is restarted. A refused call
repeated with its Idempotency-Key files its application once; the rows show no half-made order.

The cluster is the test's own, so the test runs in the SQLite pass only (in the PostgreSQL pass,
TEST_DATABASE_URL set, it would only repeat itself); it is skipped where no PostgreSQL server
binaries are installed."""
from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import IdempotencyRecord, Order
from public.openapi import APPLICATION_EXAMPLE
from tests.databases import POSTGRESQL_URL
from tests.serving import served
from web.extensions import db

BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
BOUND = 5.0  # seconds: no request may take longer, outage or not
pytestmark = [
    pytest.mark.skipif(bool(POSTGRESQL_URL),
                       reason="makes a PostgreSQL cluster of its own: run once, in the SQLite pass"),
    pytest.mark.skipif(not BINARIES, reason="no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)"),
]


class Cluster:
    """A PostgreSQL cluster in a folder of its own on 127.0.0.1 (trust authentication, user "app").
    initdb refuses root: as root the server runs as the "postgres" system user, as
    scripts/pg-test-cluster.sh does."""

    def __init__(self, folder: Path):
        self.bin, self.folder, self.data = Path(BINARIES[-1]), folder, folder / "data"
        self.as_server = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        self.port = _free_port()

    def run(self, program: str, *args: str) -> None:
        subprocess.run([*self.as_server, str(self.bin / program), *args], cwd=self.folder, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)

    def init(self) -> None:
        if self.as_server:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        self.run("initdb", "-D", str(self.data), "-A", "trust", "--no-sync", "-U", "app", "-E", "UTF8",
                 "--locale=C")
        self.start()
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "app", "backoffice")

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w", "-t", "60", "-o",
                 f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off "
                 "-c synchronous_commit=off -c full_page_writes=off", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://app@127.0.0.1:{self.port}/backoffice"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def own_cluster() -> Iterator[Cluster]:
    folder = Path(tempfile.mkdtemp(prefix="pg-restart-"))  # not under pytest's root-only folders
    cluster = Cluster(folder)
    try:
        cluster.init()
        yield cluster
    finally:
        try:
            cluster.stop()
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Answer:
    kind: str
    key: str | None
    started: float
    took: float
    status: int
    headers: dict
    body: bytes


def call(base: str, kind: str, path: str, *, body: dict | None = None, headers: dict | None = None,
         key: str | None = None) -> Answer:
    request = urllib.request.Request(base + path, method="POST" if body is not None else "GET",
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Accept-Language": "en", "Content-Type": "application/json",
                                              **(headers or {}), **({"Idempotency-Key": key} if key else {})})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=BOUND * 2) as response:
            status, answer_headers, data = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, data = error.code, dict(error.headers), error.read()
    return Answer(kind, key, started, time.monotonic() - started, status, answer_headers, data)


def test_a_postgresql_restart_under_load_answers_503_then_recovers_without_a_second_order(tmp_path_factory):
    from tests.conftest import migrated_app

    with own_cluster() as cluster:
        app = migrated_app(tmp_path_factory, cluster.url)
        try:
            output = app.test_cli_runner().invoke(args=["channel", "create", "重启渠道", "--code", "restart"]).output
            api = {"Authorization": "Bearer " + output.split("api key:")[1].strip()}
            with served(app) as base:
                check_restart(app, cluster, base, api)
        finally:
            with app.app_context():
                db.engine.dispose()


def check_restart(app, cluster: Cluster, base: str, api: dict) -> None:
    first = call(base, "create", "/api/v1/applications", body=APPLICATION_EXAMPLE, headers=api, key="before")
    assert first.status == 201, first.body
    number = json.loads(first.body)["number"]
    orders_before = _count(app, Order)

    answers: list[Answer] = []
    stop = threading.Event()
    serial = iter(range(10**6))

    def stream(kind: str, request) -> None:
        while not stop.is_set():
            answers.append(request())
            time.sleep(0.02)

    streams = {
        "create": lambda: call(base, "create", "/api/v1/applications", body=APPLICATION_EXAMPLE, headers=api,
                               key=f"load-{next(serial)}"),
        "read": lambda: call(base, "read", f"/api/v1/applications/{number}", headers=api),
        "page": lambda: call(base, "page", "/c/direct/apply"),
        "health": lambda: call(base, "health", "/healthz"),
    }
    threads = [threading.Thread(target=stream, args=item) for item in streams.items()]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        stopping_at = time.monotonic()
        cluster.stop()
        time.sleep(1.5)
        cluster.start()
        up_at = time.monotonic()
        time.sleep(1.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    succeeded = {"create": (201,), "read": (200,), "page": (200,), "health": (200,)}
    for answer in answers:
        assert answer.took < BOUND, f"{answer.kind} took {answer.took:.1f} s"
        assert answer.status in (*succeeded[answer.kind], 503), (answer.kind, answer.status, answer.body[:800])
    spec = json.loads(call(base, "spec", "/api/openapi.json").body)["paths"]
    assert "503" in spec["/api/v1/applications"]["post"]["responses"]
    assert "503" in spec["/api/v1/applications/{number}"]["get"]["responses"]
    refused = [answer for answer in answers if answer.status == 503]
    assert {answer.kind for answer in refused} == set(streams), "every kind of request met the outage"
    assert all(answer.started + answer.took >= stopping_at for answer in refused), "refused before the outage"
    for answer in refused:
        if answer.kind in ("create", "read"):
            assert json.loads(answer.body) == {
                "error": "the service is briefly unavailable; try again (with the same Idempotency-Key)"}, answer.body
        elif answer.kind == "health" and answer.body.startswith(b"{"):  # its own check met the outage
            assert json.loads(answer.body) == {"status": "error", "database": "unreachable"}
            continue
        else:  # a page, or the health check's request whose end (its commit) met the outage
            page = answer.body.decode()
            assert "服务暂时不可用，请稍后再试。" in page  # the UI's default language
            assert "Traceback" not in page
        assert answer.headers.get("Retry-After", "").isdigit(), answer.headers
    after = [answer for answer in answers if answer.started > up_at]
    assert {answer.kind for answer in after} == set(streams), "the stream went on after the restart"
    assert [(a.kind, a.status) for a in after if a.status not in succeeded[a.kind]] == [], \
        "the app did not recover by itself"

    # Each refused application filed again with its key: one order per key, none twice.
    keys = {answer.key for answer in answers if answer.kind == "create"}
    for answer in [a for a in answers if a.kind == "create" and a.status == 503]:
        again = call(base, "create", "/api/v1/applications", body=APPLICATION_EXAMPLE, headers=api, key=answer.key)
        assert again.status in (200, 201), again.body
        assert call(base, "create", "/api/v1/applications", body=APPLICATION_EXAMPLE, headers=api,
                    key=answer.key).status == 200
    assert _count(app, Order) == orders_before + len(keys)
    assert _count(app, IdempotencyRecord) == 1 + len(keys)  # the first call's ("before") too

    # Restarted while no request came: the pooled connections are dead, the next requests never see it.
    cluster.stop()
    cluster.start()
    for kind, request in streams.items():
        answer = request()
        assert answer.status in succeeded[kind], (kind, answer.status, answer.body[:300])


def _count(app, model) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(model))
        db.session.rollback()
    return count
