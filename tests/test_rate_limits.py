"""Rate limits: on every route a caller without an account can change something through, on the SMS
sends, the captcha, the sign-in, the order query and the channel API by name; counted in a store
every web process shares, so N processes do not allow N times a limit."""
from __future__ import annotations

import os
import shutil
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from flask_limiter.util import get_qualified_name

from backoffice.loadtest import processes
from tests.test_route_table import Caller, caller_of
from web.extensions import limiter

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# Their callers hold a credential staff issued (a station's, a paired helper's), or are no callers
# in production (the sandbox cashier): nothing to limit there.
UNLIMITED = {Caller.STATION, Caller.HELPER, Caller.SANDBOX}
NAMED = {
    "SMS sends": ["public.order_query", "public.signature_code", "public.change_code", "public.change_personal_code",
                  "public.unlock_page", "public.unlock_code_again", "api.send_signature_code"],
    "SMS codes entered": ["public.query_verify", "public.change_verify", "public.signature_page",
                          "public.unlock_code", "api.confirm_signature"],
    "captcha": ["public.captcha_image"],
    "key helper pairing codes": ["public.key_code", "helper_api.pair"],
    "sign-in": ["auth.login", "auth.totp", "auth.enrol"],
    "order query": ["public.order_query", "public.query_verify", "public.query_results", "public.query_continue",
                    "public.query_invoice"],
    "channel API": ["api.catalogue_listing", "api.create_application", "api.application_status",
                    "api.upload_material", "api.payment", "api.send_signature_code", "api.confirm_signature"],
}


def limits_of(app, endpoint: str) -> list[str]:
    return [str(limit.limit) for limit in
            limiter.limit_manager.decorated_limits(get_qualified_name(app.view_functions[endpoint]))]


def test_every_route_open_to_callers_without_an_account_is_limited_where_it_changes_something(app):
    unlimited = []
    for rule in app.url_map.iter_rules():
        if not rule.methods & STATE_CHANGING or rule.rule.startswith("/console"):
            continue
        if caller_of(rule) not in UNLIMITED and not limits_of(app, rule.endpoint):
            unlimited.append(f"{rule.rule} ({rule.endpoint})")
    assert not unlimited, "\n".join(unlimited)


@pytest.mark.parametrize("kind", NAMED)
def test_the_named_kinds_are_limited(app, kind):
    assert [endpoint for endpoint in NAMED[kind] if not limits_of(app, endpoint)] == []


def test_the_captcha_picture_is_limited_per_visitor(rate_limited_app, db_session):
    client = rate_limited_app.test_client()
    statuses = [client.get("/captcha.png?t=x").status_code for _ in range(31)]
    assert 429 not in statuses[:30] and statuses[30] == 429
    assert rate_limited_app.test_client().get(
        "/captcha.png?t=x", environ_base={"REMOTE_ADDR": "198.51.100.20"}).status_code != 429  # another visitor


def test_a_limited_visitor_reads_why_and_when_to_come_back(rate_limited_app, db_session):
    client = rate_limited_app.test_client()
    for _ in range(30):
        client.get("/captcha.png?t=x")
    refused = client.get("/captcha.png?t=x&lang=en")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many requests in a short time" in refused.get_data(as_text=True)


# --- across processes ---------------------------------------------------------------------------

def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


@contextmanager
def _serving(args: list[str], env: dict, log: Path, answers: Callable[[], object]):
    """`args` started, once `answers()` no longer raises OSError."""
    with processes.running(args, env, log, stop_wait=30) as process:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            try:
                answers()
                break
            except OSError:
                time.sleep(0.2)
        yield process


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    assert shutil.which("redis-server"), "redis-server is missing: `make test` installs it (APT_TEST)"
    port = processes.free_port()
    with _serving(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                  dict(os.environ), tmp_path_factory.mktemp("redis") / "redis.log",
                  lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close()):
        yield f"redis://127.0.0.1:{port}/0"


@contextmanager
def two_web_processes(tmp_path, database_url: str, storage: str):
    """Two gunicorn processes of the app, as production runs them, counting rate limits in `storage`."""
    env = {**os.environ, "DATABASE_URL": database_url, "BACKOFFICE_INSTANCE": str(tmp_path / "instance"),
           "BACKOFFICE_RATELIMIT_STORAGE_URI": storage}
    with ExitStack() as running:
        bases = []
        for name in ("one", "two"):
            port = processes.free_port()
            base = f"http://127.0.0.1:{port}"
            running.enter_context(_serving(
                [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
                env, tmp_path / f"{name}.log", lambda base=base: _status(f"{base}/healthz")))
            bases.append(base)
        yield bases


@pytest.mark.parametrize(("storage", "shared"), [("redis", True), ("memory://", False)])
def test_web_processes_share_the_count_in_redis_and_not_in_memory(tmp_path, database_url, redis_url, storage,
                                                                  shared):
    with two_web_processes(tmp_path, database_url, redis_url if storage == "redis" else storage) as (one, two):
        # the captcha picture: 30 a minute for each visitor, whichever process answers
        statuses = [_status(f"{base}/captcha.png?t=x") for base in [one, two] * 15]
        assert 429 not in statuses
        assert (_status(f"{one}/captcha.png?t=x") == 429) is shared
        assert (_status(f"{two}/captcha.png?t=x") == 429) is shared
