"""`python -m agent` end to end: a SoftHSM2 key, a back office over HTTP in the test, the agent
SIGKILLed at a known step (STATION_AGENT_HOLD_AFTER) and started again to resume the job."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, replace

from agent.tokens import Station
from protocol.station import CertificateRequest, FailureReport, FinishRequest, Step, StepReport
from tests.agent.conftest import pem
from tests.agent.http_backoffice import serving
from tests.softhsm import MODULE


class Jobs:
    """The HTTP back office's job desk: hands out the queued jobs, passes the rest to `fake`."""

    def __init__(self, fake):
        self.fake, self.queue, self.polls = fake, [], []
        self.lock = threading.Lock()

    def answer(self, path: str, body: dict):
        if path == "/poll":
            with self.lock:
                self.polls.append(body)
                job = self.queue.pop(0) if self.queue else None
            if job is None:
                time.sleep(0.1)
            return 200, {"station": "test-station", "job": asdict(job) if job else None}
        job_id, call = path.removeprefix("/jobs/").split("/")
        for report in body.pop("reports", []):  # the steps not sent yet ride along with any call
            self.fake.step(job_id, StepReport(step=Step(report["step"]), detail=report["detail"],
                                              wrong_pins=report["wrong_pins"]))
        if call == "steps":
            return 200, {"ok": True}
        if call == "certificate":
            return 200, asdict(self.fake.certificate(job_id, CertificateRequest(**body)))
        if call == "finish":
            self.fake.finish(job_id, FinishRequest(**body))
            return 200, {"ok": True}
        self.fake.failure(job_id, FailureReport(**body))
        return 200, {"ok": True}


def start_agent(url: str, credential_file, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "agent", "--url", url, "--credential-file", str(credential_file),
                             "--module", MODULE, "--wait", "0.2"],
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def wait_for(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_agent_killed_mid_job_resumes_it_when_started_again(keys, backoffice, make_job, tmp_path):
    serial = keys.blank()
    job = make_job(serial)
    credential = tmp_path / "station-agent.credential"
    credential.write_text("st1.test-station.secret\n")
    desk = Jobs(backoffice)
    desk.queue.append(job)
    with serving(desk.answer) as (url, recorder):
        agent = start_agent(url, credential, STATION_AGENT_HOLD_AFTER="key_generated")
        try:
            wait_for(lambda: Step.KEY_GENERATED in backoffice.steps())
            assert desk.polls[0]["running_job"] is None
            assert desk.polls[0]["tokens"] == [{"serial": serial, "label": desk.polls[0]["tokens"][0]["label"],
                                                "model": "SoftHSM v2", "blank": True}]
            assert all(auth == "Bearer st1.test-station.secret" for _path, auth, _body in recorder.calls)
        finally:
            agent.send_signal(signal.SIGKILL)
            output = agent.communicate(timeout=10)[0]
        assert "holding after key_generated" in output, output
        assert backoffice.steps() == [Step.CLAIMED, Step.DETECTED, Step.TOKEN_INITIALISED, Step.SO_PIN_SET,
                                      Step.USER_PIN_SET, Step.GENERATING, Step.KEY_GENERATED]

        # Started again, its first poll names no running job; the back office hands the job out again.
        polls_before = len(desk.polls)
        desk.queue.append(replace(job, resume=True))
        agent = start_agent(url, credential)
        try:
            wait_for(lambda: backoffice.finished())
            assert desk.polls[polls_before]["running_job"] is None
        finally:
            agent.send_signal(signal.SIGTERM)
            output = agent.communicate(timeout=10)[0]
        assert agent.returncode == 0, output
        assert "station agent stopped" in output
        assert f"job {job.job_id}: chain_written" in output
        resumed = [r for r in backoffice.reports() if r.detail.get("skipped")]
        assert [r.step for r in resumed] == [Step.TOKEN_INITIALISED, Step.SO_PIN_SET, Step.USER_PIN_SET]

    station = Station(MODULE)
    station.refresh()
    with station.user_session(serial, job.user_pin) as key:
        [pair] = key.key_pairs()  # the key pair of the killed run was deleted, a new one made
        assert backoffice.issued[job.job_id].public_bytes(_der()) in {c.der for c in key.certificates()}
    assert backoffice.finished()[0].certificate_pem == pem(backoffice.issued[job.job_id])


def test_a_refused_credential_stops_the_agent(tmp_path, keys):
    credential = tmp_path / "station-agent.credential"
    credential.write_text("st1.test-station.rotated")
    with serving(lambda path, body: (401, {"error": "credential_refused", "message": "rotated"})) as (url, _recorder):
        agent = start_agent(url, credential)
        output = agent.communicate(timeout=20)[0]
    assert agent.returncode == 3, output
    assert "refused the station credential" in output


def _der():
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER
