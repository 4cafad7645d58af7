"""The load test's parts in the app: its mode (refused in production), the sandbox phone's inbox,
`loadtest prepare` and `loadtest verify`; and, on PostgreSQL, `python -m backoffice.loadtest`
itself on a database of its own, a few people for one short step."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select

from backoffice.config import ROOT
from documents.materials import current_materials
from models import Staff
from notifications.interfaces import SmsContent
from notifications.outbox import queue_sms
from tests.conftest import PRODUCTION
from tests.databases import POSTGRESQL_URL, own_database
from tests.factories import credit_code, paid_order

PHONE = "13700002222"


@pytest.fixture
def load_app(make_app):
    return make_app(LOAD_TEST=True)


def test_production_refuses_the_load_test_mode(make_app):
    with pytest.raises(RuntimeError, match="production refuses the load-test mode"):
        make_app(**PRODUCTION, LOAD_TEST=True)


def test_the_sms_inbox_is_there_in_load_test_mode_only(make_app, db_session):
    assert make_app().test_client().get(f"/_test/sms?phone={PHONE}").status_code == 404
    assert not [rule for rule in make_app().url_map.iter_rules() if rule.rule == "/_test/sms"]


def test_the_sms_inbox_shows_what_the_worker_delivered_to_that_phone(load_app, db_session, worker_round):
    client = load_app.test_client()
    queue_sms(db_session, PHONE, SmsContent("order_signature", "SMS_000001", {"code": "123456"}, "验证码123456"))
    queue_sms(db_session, "13700003333", SmsContent("order_signature", "SMS_000001", {"code": "6543"}, "验证码654321"))
    db_session.commit()
    assert client.get(f"/_test/sms?phone={PHONE}").status_code == 404  # queued, not yet on the phone
    worker_round()
    answer = client.get(f"/_test/sms?phone={PHONE}")
    assert answer.status_code == 200 and answer.get_data(as_text=True) == "验证码123456"


def test_prepare_is_refused_outside_load_test_mode(runner, tmp_path):
    result = runner.invoke(args=["loadtest", "prepare", "--password", "x" * 12, "--out", str(tmp_path / "s.json")])
    assert result.exit_code != 0 and "only in load-test mode" in result.output


def test_prepare_gives_reviewers_who_can_sign_in_channel_keys_and_query_targets(load_app, db_session, tmp_path,
                                                                               app):
    phone = paid_order(db_session, app.config["UPLOAD_FOLDER"], credit_code=credit_code(7101)).agent.phone
    db_session.commit()
    out = tmp_path / "setup.json"
    result = load_app.test_cli_runner().invoke(args=["loadtest", "prepare", "--reviewers", "2", "--channels", "2",
                                                     "--password", "load-password-1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    setup = json.loads(out.read_text())
    assert [account["username"] for account in setup["reviewers"]] == ["load-reviewer-1", "load-reviewer-2"]
    assert {"credit_code": credit_code(7101), "phone": phone} in setup["queries"]
    client = load_app.test_client()
    key = setup["api_keys"][1]
    assert client.get("/api/v1/catalogue", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    client.post("/console/login", data={"username": "load-reviewer-1", "password": "load-password-1"})
    signed = client.post("/console/login/totp", data={"code": pyotp.TOTP(setup["reviewers"][0]["totp_secret"]).now()})
    assert signed.status_code == 302 and "/console/" in signed.headers["Location"]
    assert db_session.scalar(select(Staff.role).where(Staff.username == "load-reviewer-1")) == "reviewer"


def _verify(load_app, tmp_path, records: list[dict]) -> dict[str, int]:
    accepted = tmp_path / "accepted.jsonl"
    accepted.write_text("".join(json.dumps(record) + "\n" for record in records))
    result = load_app.test_cli_runner().invoke(args=["loadtest", "verify", str(accepted)])
    assert result.exit_code == 0, result.output
    return {name: int(count) for name, count in re.findall(r"^(accepted|lost|duplicated): (\d+)$", result.output, re.M)}


def test_verify_counts_each_accepted_submission_found_once_with_its_files(load_app, db_session, tmp_path):
    folder = load_app.config["UPLOAD_FOLDER"]
    whole = paid_order(db_session, folder, credit_code=credit_code(7201))
    twice = paid_order(db_session, folder, credit_code=credit_code(7202))
    paid_order(db_session, folder, credit_code=credit_code(7202))  # the same submission made two orders
    without_file = paid_order(db_session, folder, credit_code=credit_code(7203))
    db_session.commit()
    material = next(iter(current_materials(db_session, without_file).values()))
    purpose, _, object_id = material.stored_name.partition("/")
    (Path(folder) / purpose / object_id[:2] / object_id).unlink()  # the disk lost it
    kinds = [kind.value for kind in current_materials(db_session, whole)]
    counts = _verify(load_app, tmp_path, [
        {"number": whole.number, "credit_code": credit_code(7201), "kinds": kinds},
        {"number": twice.number, "credit_code": credit_code(7202), "kinds": kinds},
        {"number": without_file.number, "credit_code": credit_code(7203), "kinds": [material.kind.value]},
        {"number": "20990101U000001", "credit_code": credit_code(7204), "kinds": []},  # never made
    ])
    assert counts == {"accepted": 4, "lost": 2, "duplicated": 1}


@pytest.mark.skipif(not POSTGRESQL_URL, reason="the load test runs on PostgreSQL")
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="the load test shares its rate limits in Redis")
@pytest.mark.timeout(300)
def test_make_loadtest_runs_a_step_and_finds_every_accepted_submission(tmp_path, database_url):
    with own_database(tmp_path, database_url) as url:
        done = subprocess.run(
            [sys.executable, "-m", "backoffice.loadtest", "--applications", "300", "--first", "12", "--increment", "12",
             "--most", "12", "--warm", "3", "--measure", "25", "--floor-measure", "5", "--limit-ms", "100000"],
            env={**os.environ, "TEST_DATABASE_URL": url}, cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = dict(re.findall(r"^([a-z0-9 ]+): (\S+)", done.stdout, re.M))
    assert float(lines["sustained rps"]) > 0
    assert re.search(r"^  console: order page +\d+ requests", done.stdout, re.M)
    assert re.search(r"^  form: upload material +\d+ requests", done.stdout, re.M)
    assert int(lines["accepted"]) > 0
    assert (lines["5xx"], lines["lost"], lines["duplicated"]) == ("0", "0", "0")
