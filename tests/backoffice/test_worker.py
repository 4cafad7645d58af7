"""The workers: any number side by side do each piece of work once, a scheduled command runs once
per period, a dead worker's work is taken up again, and a real worker process delivers what a
request queued and stops cleanly on SIGTERM."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import click
import pytest
import time_machine
from sqlalchemy import select

from backoffice import schedule
from backoffice.config import SECRET_NAMES
from backoffice.worker import work_once
from models import ScheduledRun, SmsMessage, WorkItem, WorkStatus
from models.base import utcnow
from models.business_time import BUSINESS_TZ
from notifications import outbox
from notifications.interfaces import SmsContent
from tests.databases import POSTGRESQL_URL, at_once, own_app
from web import jobs
from web.commands import Commands
from web.edge import unit_of_work
from web.extensions import db

TEXT = SmsContent("test", "SMS_T", {}, "一条测试短信")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def counted(app):
    """A scheduled command of the test's own that counts its runs (and fails when told to)."""
    runs = []
    group = Commands("worker-test")

    @group.command("count")
    def count() -> None:
        runs.append(threading.current_thread().name)
        click.echo(f"run {len(runs)}")
        if os.environ.get("WORKER_TEST_FAIL"):
            raise SystemExit(1)

    app.cli.add_command(group)
    schedule.SCHEDULE["worker-test count"] = schedule.Every(60)
    yield runs
    del schedule.SCHEDULE["worker-test count"]
    app.cli.commands.pop("worker-test")


def _run_of(name: str) -> ScheduledRun:
    return db.session.get(ScheduledRun, name)


def test_two_workers_run_a_due_command_once_and_again_only_when_it_is_due(app, db_session, counted):
    names = ["worker-test count"]
    start = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
    with app.app_context(), time_machine.travel(start, tick=False) as clock:
        schedule.plan(db.session, names, utcnow())
        assert work_once(app, "w1", names) == 1 and work_once(app, "w2", names) == 0
        assert counted == [threading.current_thread().name]
        run = _run_of("worker-test count")
        assert (run.runs, run.succeeded, run.running_on, run.output) == (1, True, None, "run 1\n")
        assert run.due_at == start + dt.timedelta(minutes=60)
        clock.shift(dt.timedelta(minutes=59))
        assert work_once(app, "w2", names) == 0
        clock.shift(dt.timedelta(minutes=1))
        assert work_once(app, "w2", names) == 1 and len(counted) == 2


def test_a_failed_run_is_recorded_and_counted(app, db_session, counted, monkeypatch):
    names = ["worker-test count"]
    monkeypatch.setenv("WORKER_TEST_FAIL", "1")
    with app.app_context():
        schedule.plan(db.session, names, utcnow())
        work_once(app, "w1", names)
        run = _run_of("worker-test count")
        assert (run.succeeded, run.failures, run.output) == (False, 1, "run 1\n")


def test_a_command_whose_worker_died_is_run_again_when_the_lease_ends(app, db_session, counted):
    names = ["worker-test count"]
    start = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
    with app.app_context(), time_machine.travel(start, tick=False) as clock:
        schedule.plan(db.session, names, utcnow())
        # a worker claimed it and was killed before it finished
        db.session.execute(ScheduledRun.__table__.update().values(
            runs=1, running_on="dead:1", started_at=start, due_at=start + schedule.LEASE))
        db.session.commit()
        assert work_once(app, "w2", names) == 0, "the lease still holds"
        clock.shift(schedule.LEASE)
        assert work_once(app, "w2", names) == 1 and len(counted) == 1
        assert (_run_of("worker-test count").runs, _run_of("worker-test count").running_on) == (2, None)


def test_work_whose_worker_died_is_done_once_by_another(app, db_session):
    done = []
    jobs.register(app, "test.note", lambda session, subject_id: done.append(subject_id))
    start = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
    with app.app_context(), time_machine.travel(start, tick=False) as clock:
        item = jobs.enqueue(db.session, "test.note", 7)
        item.status, item.attempts, item.worker, item.due_at = WorkStatus.RUNNING, 1, "dead:1", start + jobs.LEASE
        db.session.commit()
        assert jobs.run_due(db.session, "w2") == 0
        clock.shift(jobs.LEASE)
        assert jobs.run_due(db.session, "w2") == 1 and jobs.run_due(db.session, "w3") == 0
        item = db.session.get(WorkItem, item.id)
        assert (item.status, item.attempts, item.worker, done) == (WorkStatus.DONE, 2, "w2", [7])
    app.extensions["jobs"].pop("test.note")


def test_failed_work_is_tried_again_later_then_left_failed(app, db_session):
    def broken(session, subject_id):
        raise RuntimeError("the tax platform is down")

    jobs.register(app, "test.broken", broken)
    start = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
    with app.app_context(), time_machine.travel(start, tick=False) as clock:
        item_id = jobs.enqueue(db.session, "test.broken", 1).id
        db.session.commit()
        for attempt in range(1, jobs.MAX_ATTEMPTS + 1):
            assert jobs.run_due(db.session, "w1") == 1
            item = db.session.get(WorkItem, item_id)
            assert item.attempts == attempt and item.error == "RuntimeError: the tax platform is down"
            assert jobs.run_due(db.session, "w1") == 0, "not before its next time"
            clock.shift(dt.timedelta(hours=3))
        assert item.status == WorkStatus.FAILED and jobs.run_due(db.session, "w1") == 0
    app.extensions["jobs"].pop("test.broken")


def test_many_workers_at_once_send_each_message_once(tmp_path, tmp_path_factory, database_url):
    with own_app(tmp_path, tmp_path_factory, database_url) as app:
        with app.app_context(), unit_of_work():
            for i in range(30):
                outbox.queue_sms(db.session, f"1370001{i:03d}1", TEXT)

        def worker():
            with app.app_context():
                return sum(iter(lambda: work_once(app, threading.current_thread().name, []), 0))

        assert sum(at_once([worker] * 3)) == 30
        with app.app_context():
            assert [(m.status, m.attempts) for m in db.session.scalars(select(SmsMessage))] == [("sent", 1)] * 30


@pytest.mark.skipif(not POSTGRESQL_URL, reason="PostgreSQL only (TEST_DATABASE_URL)")
def test_on_postgresql_a_worker_skips_rows_another_is_claiming_instead_of_waiting(tmp_path, tmp_path_factory,
                                                                               database_url):
    with own_app(tmp_path, tmp_path_factory, database_url) as app:
        with app.app_context(), unit_of_work():
            held = outbox.queue_sms(db.session, "13700020001", TEXT).id
            free = outbox.queue_sms(db.session, "13700020002", TEXT).id
        with app.app_context():
            engine = db.engine
        with engine.connect() as other_worker:  # in the middle of its claim: the row is locked
            other_worker.begin()
            other_worker.execute(select(SmsMessage.id).where(SmsMessage.id == held).with_for_update())
            finished = threading.Event()

            def worker():
                with app.app_context():
                    work_once(app, "w2", [])
                finished.set()

            thread = threading.Thread(target=worker)
            thread.start()
            waited = not finished.wait(15)
            other_worker.rollback()
            thread.join()
        assert not waited, "the worker waited for the locked row"
        with app.app_context():
            statuses = {m.id: m.status for m in db.session.scalars(select(SmsMessage))}
        assert statuses == {held: "queued", free: "sent"}


def test_a_worker_process_delivers_what_was_queued_and_stops_on_sigterm(tmp_path, tmp_path_factory, database_url):
    with own_app(tmp_path, tmp_path_factory, database_url) as app:
        with app.app_context(), unit_of_work():
            message_id = outbox.queue_sms(db.session, "13700030001", TEXT).id
        keys = {f"BACKOFFICE_{name}": app.config[name] for name in SECRET_NAMES}  # the app's sealed rows
        environment = {**os.environ, **keys, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                       "BACKOFFICE_INSTANCE": str(tmp_path), "BACKOFFICE_WORKER_POLL_SECONDS": "0.2",
                       "BACKOFFICE_WORKER_SCHEDULE_OFF": ",".join(schedule.SCHEDULE)}
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"], cwd=ROOT,
                                   env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 60
            status = None
            while time.monotonic() < deadline and status != "sent":
                time.sleep(0.2)
                with app.app_context():
                    status = db.session.get(SmsMessage, message_id).status
            assert status == "sent"
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output
        assert "stopped" in output


def test_the_health_endpoint_says_when_the_workers_are_behind(app, client, db_session, worker_round):
    assert client.get("/healthz").get_json()["status"] == "ok"
    with time_machine.travel(utcnow() - dt.timedelta(minutes=11)):
        outbox.queue_sms(db_session, "13700040001", TEXT)
        db_session.commit()
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.get_json()["status"] == "degraded"
    assert answer.get_json()["workers"]["messages_late"] == 1
    worker_round()
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok", "workers": {
        "messages_late": 0, "work_late": 0, "work_failed": 0, "commands_late": [], "commands_failing": []}}


def test_every_scheduled_command_is_a_command_of_the_app(app):
    for name in schedule.SCHEDULE:
        group, _, leaf = name.partition(" ")
        assert leaf in app.cli.commands[group].commands, name


def test_a_schedule_naming_no_command_is_refused(make_app):
    from backoffice.worker import scheduled_names

    with pytest.raises(click.ClickException, match="billing reconcil"):
        scheduled_names(make_app(WORKER_SCHEDULE_OFF=("billing reconcil",)))


def test_a_daily_command_is_due_at_its_hour_of_beijing_time():
    daily = schedule.DailyAt(3)
    before = dt.datetime(2026, 12, 7, 2, 0, tzinfo=BUSINESS_TZ)
    assert daily.next_after(before) == dt.datetime(2026, 12, 7, 3, 0, tzinfo=BUSINESS_TZ)
    assert daily.next_after(dt.datetime(2026, 12, 7, 3, 0, tzinfo=BUSINESS_TZ)) == dt.datetime(
        2026, 12, 8, 3, 0, tzinfo=BUSINESS_TZ)
    assert daily.next_after(before).tzinfo == dt.UTC
