"""agent.client against a back office on 127.0.0.1: the bearer credential, the poll, step reports
sent in order (batched, the last riding with a synchronous call), and what each error answer becomes."""
from __future__ import annotations

import time

import pytest

from agent.backoffice import CredentialRefused, JobTaken, Refused, SigningUnavailable
from agent.client import Client
from protocol.station import CertificateRequest, FailureReport, KeyType, Step, StepReport, TokenSeen, WipeDone
from tests.agent.http_backoffice import serving

JOB = {"job_id": "j1", "order_number": "O1", "media_serial": "abc", "token_label": "L", "key_type": "ec_p256",
       "key_id": "01", "subject": [["2.5.4.3", "X"]], "user_pin": "u", "so_pin": "s", "current_so_pins": ["t"],
       "challenge": "00", "pin_tries_left": 10, "resume": True, "a_field_of_a_newer_back_office": 1}


_made: list[Client] = []


def client(url: str) -> Client:
    _made.append(Client(url, "st1.station.secret", log=lambda line: None, retry_delays=(0.01,), timeout=5))
    return _made[-1]


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    while _made:
        _made.pop().close()


def test_a_poll_sends_the_tokens_with_the_credential_and_reads_the_job():
    with serving(lambda path, body: (200, {"station": "s1", "job": JOB})) as (url, recorder):
        answer = client(url).poll([TokenSeen("abc", "L", "SoftHSM v2", True)], running_job=None, wait=1)
    assert answer.station == "s1" and answer.job.job_id == "j1" and answer.job.key_type is KeyType.EC_P256
    assert answer.job.resume and answer.job.subject == [["2.5.4.3", "X"]]
    [(path, auth, body)] = recorder.calls
    assert (path, auth) == ("/poll", "Bearer st1.station.secret")
    assert body == {"tokens": [{"serial": "abc", "label": "L", "model": "SoftHSM v2", "blank": True}],
                    "running_job": None, "wait": 1}


WIPE = {"wipe_id": "W1", "media_serial": "abc", "current_so_pins": ["on-file", "transport"],
        "transport_so_pin": "transport", "pin_tries_left": 9, "a_field_of_a_newer_back_office": 1}


def test_a_poll_answered_with_a_wipe_and_its_reports():
    def answer(path, body):
        return (200, {"station": "s1", "job": None, "wipe": WIPE}) if path == "/poll" else (200, {"ok": True})

    with serving(answer) as (url, recorder):
        agent = client(url)
        polled = agent.poll([], wait=1)
        agent.wiped("W1", WipeDone(wrong_pins=[{"pin": "so"}]))
        agent.wipe_failed("W1", FailureReport(error="token_not_found", message="gone"))
    assert polled.job is None and polled.wipe.media_serial == "abc"
    assert polled.wipe.current_so_pins == ["on-file", "transport"] and polled.wipe.transport_so_pin == "transport"
    assert [(path, body) for path, _auth, body in recorder.calls[1:]] == [
        ("/wipes/W1/done", {"wrong_pins": [{"pin": "so"}]}),
        ("/wipes/W1/failure", {"error": "token_not_found", "message": "gone", "step": None, "wrong_pins": [],
                               "reports": []})]


def test_a_409_to_a_wipe_report_is_a_wipe_taken_away():
    with serving(lambda path, body: (409, {"error": "not_running", "message": "no"})) as (url, _recorder):
        with pytest.raises(JobTaken):
            client(url).wiped("W1", WipeDone())


def test_step_reports_are_sent_in_order_before_a_synchronous_call():
    def answer(path, body):
        if path.endswith("/steps"):
            time.sleep(0.05)  # a slow back office: the token work does not wait for it
            return 200, {"ok": True}
        return 200, {"certificate_pem": "PEM", "chain_pem": ["CA"]}

    with serving(answer) as (url, recorder):
        agent = client(url)
        started = time.monotonic()
        for step in (Step.CLAIMED, Step.DETECTED, Step.TOKEN_INITIALISED):
            agent.step("j1", StepReport(step=step, detail={"n": 1}))
        assert time.monotonic() - started < 0.05
        issued = agent.certificate("j1", CertificateRequest(csr_pem="CSR"))
    assert (issued.certificate_pem, issued.chain_pem) == ("PEM", ["CA"])
    # In order, several in one call, the last ones riding with the certificate request: fewer calls than steps.
    assert recorder.paths()[-1] == "/jobs/j1/certificate" and len(recorder.paths()) < 4
    assert set(recorder.paths()[:-1]) <= {"/jobs/j1/steps"}
    sent = [report["step"] for _path, _auth, body in recorder.calls for report in body["reports"]]
    assert sent == ["claimed", "detected", "token_initialised"]


def test_a_409_to_a_report_stops_the_job_at_its_next_call():
    with serving(lambda path, body: (409, {"error": "job_not_running", "message": "wiped"})) as (url, recorder):
        agent = client(url)
        agent.step("j1", StepReport(step=Step.CLAIMED))
        agent.flush()
        with pytest.raises(JobTaken):
            agent.step("j1", StepReport(step=Step.DETECTED))
        with pytest.raises(JobTaken):
            agent.failure("j1", FailureReport(error="token_error", message="x"))
    assert recorder.paths() == ["/jobs/j1/steps"]


@pytest.mark.parametrize(("status", "error"), [(401, CredentialRefused), (503, SigningUnavailable), (422, Refused)])
def test_error_answers(status, error):
    with serving(lambda path, body: (status, {"error": "subject_mismatch", "message": "no"})) as (url, _recorder):
        with pytest.raises(error) as raised:
            client(url).certificate("j1", CertificateRequest(csr_pem="CSR"))
    if status == 422:
        assert raised.value.code == "subject_mismatch"


def test_a_refused_credential_on_a_report_stops_the_agent_at_its_next_call():
    with serving(lambda path, body: (401, {"error": "credential_revoked", "message": "revoked"})) as (url, _recorder):
        agent = client(url)
        agent.step("j1", StepReport(step=Step.CLAIMED))
        with pytest.raises(CredentialRefused):
            agent.flush()


def test_a_back_office_that_does_not_answer_is_tried_again():
    answers = iter([(502, {}), (502, {}), (200, {"station": "s1", "job": None})])
    with serving(lambda path, body: next(answers)) as (url, recorder):
        assert client(url).poll([], wait=1).job is None
    assert recorder.paths() == ["/poll"] * 3
