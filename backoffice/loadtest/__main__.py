"""`make loadtest` (scripts/pg-test-cluster.sh python -m backoffice.loadtest): see the package's
docstring. Prints each step as it ends, then the figures of the last clean step and the count
of what was accepted."""
from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from backoffice.loadtest import processes, users
from backoffice.loadtest import steps as stepping

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
QUEUE_PAGE = "console: queue new"
START_WAIT_SECONDS = 60


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + START_WAIT_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"loadtest: {url} did not answer")


def _flask(env: dict, *args: str, log: Path | None = None) -> str:
    done = subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    if log:
        log.open("a").write(done.stdout + done.stderr)
    if done.returncode:
        raise SystemExit(f"loadtest: flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def _analyze(database: str) -> None:
    with psycopg.connect(make_url(database).set(drivername="postgresql").render_as_string(hide_password=False),
                         autocommit=True) as connection:
        connection.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m backoffice.loadtest", description=__doc__)
    parser.add_argument("--applications", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn's web workers")
    parser.add_argument("--first", type=int, default=10, help="people in the first step")
    parser.add_argument("--increment", type=int, default=10, help="people added each step")
    parser.add_argument("--most", type=int, default=400, help="people in the last step at most")
    parser.add_argument("--warm", type=float, default=10.0, help="seconds before each step's window")
    parser.add_argument("--measure", type=float, default=30.0, help="seconds each step is measured")
    parser.add_argument("--floor-measure", type=float, help="seconds the bare page is measured (default: --measure)")
    parser.add_argument("--limit-ms", type=float, default=200.0, help="a p95 this high ends the steps")
    options = parser.parse_args()
    database = os.environ.get("TEST_DATABASE_URL") or sys.exit("loadtest: run inside scripts/pg-test-cluster.sh")
    work = Path(tempfile.mkdtemp(prefix="loadtest-"))
    log = work / "processes.log"
    port, redis_port, signer_port, bare_port = (processes.free_port() for _ in range(4))
    base = f"http://127.0.0.1:{port}"
    password = secrets.token_urlsafe(16)
    env = {**os.environ, "BACKOFFICE_INSTANCE": str(work / "instance"), "DATABASE_URL": database,
           "BACKOFFICE_LOAD_TEST": "1", "BACKOFFICE_TRUSTED_PROXIES": "1", "BACKOFFICE_PUBLIC_BASE_URL": base,
           "BACKOFFICE_RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{redis_port}/0",
           "BACKOFFICE_SIGNING_SERVICE_URL": f"http://127.0.0.1:{signer_port}"}
    print(f"==> loadtest in {work} (logs: {log})", flush=True)
    with ExitStack() as started:
        started.enter_context(processes.running(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                                 "--save", "", "--appendonly", "no"], env, log))
        print(f"==> {options.applications:,} applications on PostgreSQL", flush=True)
        _flask(env, "db", "upgrade", log=log)
        _flask(env, "demo", "load", log=log)
        _flask(env, "ca", "ceremony", "--demo", "--if-missing", log=log)
        _flask(env, "demo-data", "--applications", str(options.applications), "--no-billing", log=log)
        _analyze(database)  # as after any bulk load: the planner's statistics, before autovacuum gets to it
        setup = work / "setup.json"
        print(_flask(env, "loadtest", "prepare", "--password", password, "--out", str(setup)).strip(), flush=True)
        accepted = work / "accepted.jsonl"
        accepted.touch()
        users.configure(setup, accepted, password)
        started.enter_context(processes.running([str(VENV_BIN / "gunicorn"), "--workers", str(options.workers),
                                                 "--bind", f"127.0.0.1:{port}", "wsgi:app"], env, log))
        started.enter_context(processes.running([str(VENV_BIN / "gunicorn"), "--workers", "1", "--bind",
                                                 f"127.0.0.1:{signer_port}", "signing_wsgi:app"], env, log))
        started.enter_context(processes.running([str(VENV_BIN / "flask"), "--app", "wsgi", "worker"], env, log))
        _wait_for(base + "/healthz")
        print(f"==> gunicorn ({options.workers} workers) and a worker on {base}; steps of "
              f"{options.increment} people, {options.warm:g} s warm-up and {options.measure:g} s measured each",
              flush=True)
        steps, counter = stepping.climb(base, first=options.first, increment=options.increment, most=options.most,
                                        warm=options.warm, measure=options.measure, limit_ms=options.limit_ms)
    clean = [step for step in steps if step.clean(options.limit_ms)]
    people = (clean[-1] if clean else steps[0]).people
    with processes.running([str(VENV_BIN / "gunicorn"), "--workers", str(options.workers), "--bind",
                            f"127.0.0.1:{bare_port}", "backoffice.loadtest.bare:app"], env, log):
        _wait_for(f"http://127.0.0.1:{bare_port}/")
        floor = stepping.bare(f"http://127.0.0.1:{bare_port}", people, warm=options.warm,
                              measure=options.floor_measure or options.measure)
    _report(steps, counter, options.limit_ms)
    if floor:
        print(f"floor: a bare WSGI page under the same gunicorn, {people} people: p50 {floor.p50:.0f} ms, "
              f"p95 {floor.p95:.0f} ms, p99 {floor.p99:.0f} ms")
    print(_flask(env, "loadtest", "verify", str(accepted)).strip(), flush=True)


def _report(steps: list[stepping.Step], counter: stepping.Counter, limit_ms: float) -> None:
    clean = [step for step in steps if step.clean(limit_ms)]
    shown = clean[-1] if clean else steps[0] if steps else None
    print(f"sustained rps: {clean[-1].rps:.1f}" if clean else "sustained rps: 0 (no clean step)")
    if shown:
        print(f"at {'that' if clean else 'the first'} step: {shown.people} people, {shown.rps:.1f} requests/s; "
              "p50/p95/p99 ms per kind of request:")
        for kind in shown.kinds:
            print(f"  {kind.name:34} {kind.requests:6} requests  {kind.p50:6.0f} {kind.p95:6.0f} {kind.p99:6.0f}")
        queue = next((kind for kind in shown.kinds if kind.name == QUEUE_PAGE), None)
        print(f"queue p95 ms: {queue.p95:.0f}" if queue else "queue p95 ms: none measured")
    if len(steps) > len(clean):
        ended = steps[-1]
        slowest = ended.slowest()
        print(f"ended at {ended.people} people: 5xx {ended.server_errors}, slowest p95 "
              f"{slowest.p95:.0f} ms ({slowest.name})" if slowest else f"ended at {ended.people} people")
    print(f"429: {counter.total['limited']}")
    print(f"5xx: {counter.total['errors']}")


if __name__ == "__main__":
    main()
