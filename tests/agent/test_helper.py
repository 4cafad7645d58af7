"""The `ukey-helper` process (python -m agent.helper) against a helper back office over HTTP in the
test: a key programmed at the station, paired by the page's code, logged in and renewed with the
key password piped on stdin, until the back office says the session is over; a refused code."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from agent.backoffice import SessionOver
from agent.helper import PinPrompt, new_key_password
from agent.helper_client import HelperClient
from protocol.helper import API, HelperStep, KeyOnPc, Task, TaskKind
from tests.agent.conftest import pem
from tests.agent.helper_backoffice import CODE, CREDENTIAL, FakeHelperBackOffice, HelperDesk
from tests.agent.http_backoffice import serving
from tests.agent.test_renewing import RENEWAL_STEPS, login_task, on_key, renew_task
from tests.agent.test_wiping import programmed_key
from tests.softhsm import MODULE

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def helper(url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent.helper", "--url", url, "--module", MODULE, "--wait", "0.2",
                           *args], input=stdin, env={**os.environ}, capture_output=True, text=True, timeout=60,
                          cwd=ROOT)


def test_the_helper_pairs_logs_in_renews_and_stops_when_the_session_is_over(keys, backoffice, make_job, ca):
    job = programmed_key(keys, backoffice, make_job)
    old = backoffice.issued[job.job_id]
    fake = FakeHelperBackOffice(ca)
    fake.certificates[format(old.serial_number, "x")] = old
    login, renew = login_task(job, old), replace(renew_task(job, old), task_id="T-renew")
    desk = HelperDesk(fake, [login, renew])
    with serving(desk.answer, API) as (url, recorder):
        # One wrong password, then the right one; the renewal does not ask again.
        done = helper(url, "--code", "1234-5678", stdin=f"not-the-pin\n{job.user_pin}\n")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Renewal done: you may close the helper." in output
    assert job.user_pin not in output and "not-the-pin" not in output  # passwords are never printed
    assert "old_key_deleted: the old key pair and certificate were deleted" in output

    [pairing] = desk.pairs
    assert pairing["code"] == "1234-5678"  # as typed: the back office ignores the dash
    [key] = [k for k in pairing["keys"] if k["serial"] == job.media_serial]
    assert key["certificates"] == [pem(old)] and key["user_pin_locked"] is False
    assert recorder.calls[0][1] == "" and {auth for _p, auth, _b in recorder.calls[1:]} == {f"Bearer {CREDENTIAL}"}
    [proof] = [event[2] for event in fake.events if event[0] == "login"]
    assert proof.wrong_pins == [{"pin": "user"}]
    assert fake.steps() == RENEWAL_STEPS and fake.failures() == []
    keys.station.refresh()
    pairs, certificates = on_key(keys, job)
    assert [pair.key_id.hex() for pair in pairs] == [renew.renew.key_id]
    assert len(certificates) == 3


def test_a_refused_pairing_code_exits_3(keys):
    with serving(HelperDesk(FakeHelperBackOffice(None), []).answer, API) as (url, recorder):
        done = helper(url, "--code", "9999-0000")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "The pairing code was refused" in done.stdout and "wrong, used or expired" in done.stdout
    assert recorder.paths() == ["/pair"]


def test_a_task_left_without_a_password_is_reported_cancelled(keys, backoffice, make_job, ca):
    """stdin runs dry (the applicant closed it): the task fails `cancelled`, the session ends."""
    job = programmed_key(keys, backoffice, make_job)
    old = backoffice.issued[job.job_id]
    fake = FakeHelperBackOffice(ca)
    desk = HelperDesk(fake, [login_task(job, old)])
    with serving(desk.answer, API) as (url, _recorder):
        done = helper(url, "--code", CODE, stdin="")
    assert done.returncode == 0, done.stdout
    [failure] = fake.failures()
    assert (failure.error, failure.step) == ("cancelled", HelperStep.LOGGED_IN)


def test_a_401_ends_the_session_and_a_paired_client_sends_its_credential():
    def answer(path, body):
        if path == "/pair":
            return 200, {"credential": CREDENTIAL, "session_id": "s", "purpose": "unlock"}
        return 401, {"error": "session_over", "message": "expired"}

    with serving(answer, API) as (url, recorder):
        client = HelperClient(url, log=lambda line: None, retry_delays=(0.01,), timeout=5)
        paired = client.pair(CODE, [KeyOnPc("abc", "L", "M", True, [])])
        with pytest.raises(SessionOver):
            client.poll([], wait=0.1)
    assert paired.purpose == "unlock"
    assert [auth for _path, auth, _body in recorder.calls] == ["", f"Bearer {CREDENTIAL}"]


def test_a_poll_reads_a_task_ignoring_fields_it_does_not_know():
    task = {"task_id": "T1", "kind": "unlock", "a_newer_field": 1,
            "unlock": {"media_serial": "abc", "so_pin": "new", "current_so_pins": ["old"], "pin_tries_left": 9,
                       "another": "x"}}
    with serving(lambda path, body: (200, {"task": task, "over": False}), API) as (url, _recorder):
        answer = HelperClient(url, log=lambda line: None).poll([], wait=0.1)
    assert answer.task == Task(task_id="T1", kind=TaskKind.UNLOCK, unlock=answer.task.unlock)
    assert answer.task.unlock.current_so_pins == ["old"]


class Piped:
    """A stdin that is no terminal."""

    def __init__(self, text: str):
        self.stream = io.StringIO(text)

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        return self.stream.readline()


def test_a_new_key_password_is_asked_again_until_long_enough_and_typed_the_same_twice(capsys):
    prompt = PinPrompt(Piped("short\nlong-enough-1\nlong-enough-2\nlong-enough-1\nlong-enough-1\n"))
    assert new_key_password(prompt) == "long-enough-1"
    out = capsys.readouterr().out
    assert "6 to 16 characters" in out and "differ" in out and "long-enough" not in out
    with pytest.raises(EOFError):
        prompt("Key password: ")


def test_sigterm_while_a_task_waits_for_its_password_reports_it_cancelled(keys, backoffice, make_job, ca):
    job = programmed_key(keys, backoffice, make_job)
    fake = FakeHelperBackOffice(ca)
    desk = HelperDesk(fake, [login_task(job, backoffice.issued[job.job_id])])
    with serving(desk.answer, API) as (url, _recorder):
        process = subprocess.Popen([sys.executable, "-m", "agent.helper", "--url", url, "--module", MODULE,
                                    "--code", CODE, "--wait", "0.2"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        try:
            deadline = time.monotonic() + 20
            while not desk.polls or desk.queue:  # the login task was handed out: the helper asks for the password
                assert time.monotonic() < deadline, "timed out"
                time.sleep(0.05)
            time.sleep(0.3)
            process.send_signal(signal.SIGTERM)
            output = process.communicate(timeout=20)[0]
        finally:
            process.kill()
    assert process.returncode == 130, output
    assert "key helper stopped" in output
    [failure] = fake.failures()
    assert failure.error == "cancelled"
