"""The back office over HTTP (urllib, JSON, `Authorization: Bearer <credential>`), as
protocol.station describes it. The agent only calls out: the station PC needs no open port.

Step reports go to a background thread, so a token operation never waits on the network; the
thread sends what has queued up within 50 ms in one call (a key's PINs take milliseconds). A call that waits for
an answer (certificate, finish, failure) carries the reports not sent yet itself, after any call
carrying earlier ones has returned: the back office always sees a job's steps, in order, before what
follows them, without a round trip per step.

Errors: 401 raises CredentialRefused (the agent stops: the credential was rotated or revoked), 409
JobTaken (the job stops quietly), 503 SigningUnavailable, other 4xx Refused. The back office not
answering at all (refused connection, timeout, 502/504 of a proxy) is retried with a growing delay,
for ever: there is nothing else a station can do, and Ctrl-C still stops the agent.
"""
from __future__ import annotations

import http.client
import itertools
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import fields

from agent.backoffice import CredentialRefused, JobTaken, Refused, SigningUnavailable
from protocol.station import (
    API,
    MAX_REPORTS,
    POLL_WAIT_SECONDS,
    CertificateAnswer,
    CertificateRequest,
    FailureReport,
    FinishRequest,
    Job,
    PollAnswer,
    PollRequest,
    StepReport,
    TokenSeen,
    Unlock,
    UnlockDone,
    Wipe,
    WipeDone,
    job_from_json,
    to_json,
)

RETRY_DELAYS = (1, 2, 5, 10, 20, 30)  # seconds between tries; the last repeats
TIMEOUT = 30  # seconds for a call but the poll (whose read timeout is its wait and this)
COALESCE_SECONDS = 0.05  # a report waits this long for the ones that follow it
_RETRIED_STATUS = {502, 504}  # a proxy in front of a back office that is restarting
_JOB_FIELDS = {f.name for f in fields(Job)}
_WIPE_FIELDS = {f.name for f in fields(Wipe)}
_UNLOCK_FIELDS = {f.name for f in fields(Unlock)}


class Unreachable(Exception):
    """The back office did not answer; tried again."""


def poll_answer(data: dict) -> PollAnswer:
    """A poll's answer; job and wipe fields this agent does not know are left out (a newer back
    office may send more)."""
    job, wipe, unlock = data.get("job"), data.get("wipe"), data.get("unlock")
    return PollAnswer(job=job_from_json({key: value for key, value in job.items() if key in _JOB_FIELDS})
                      if job else None, station=data.get("station", ""),
                      wipe=Wipe(**{key: value for key, value in wipe.items() if key in _WIPE_FIELDS}) if wipe else None,
                      unlock=Unlock(**{key: value for key, value in unlock.items() if key in _UNLOCK_FIELDS})
                      if unlock else None)


class Http:
    """JSON POSTs to the back office's API at `base`, with the bearer credential (when there is one):
    its error answers raised as agent.backoffice's errors (401 as `unauthorised`), and the back office
    not answering tried again with a growing delay until `_stopping` is set."""

    unauthorised: type[CredentialRefused] = CredentialRefused
    refused_what = "the station credential"

    def __init__(self, base: str, credential: str, *, log: Callable[[str], None] = print,
                 retry_delays: tuple[float, ...] = RETRY_DELAYS, timeout: float = TIMEOUT):
        self.base = base
        self.credential = credential
        self.log = log
        self.retry_delays = retry_delays
        self.timeout = timeout
        self._stopping = threading.Event()

    def _post(self, path: str, body: dict, *, timeout: float | None = None) -> dict:
        """One POST; the answer's JSON. Raises the errors of agent.backoffice, or Unreachable."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.credential:
            headers["Authorization"] = f"Bearer {self.credential}"
        request = urllib.request.Request(self.base + path, data=json.dumps(body).encode(), method="POST",
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                data = response.read()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read()
            exc.close()
            if status in _RETRIED_STATUS:
                raise Unreachable(f"HTTP {status}") from None
            raise _error(status, text, self.unauthorised, self.refused_what) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:  # refused, reset, timed out
            raise Unreachable(str(getattr(exc, "reason", exc))) from None
        return json.loads(data) if data else {}

    def _call(self, path: str, body: dict, *, timeout: float | None = None) -> dict:
        """A POST tried until the back office answers it."""
        for attempt in range(10**9):
            try:
                answer = self._post(path, body, timeout=timeout)
            except Unreachable as exc:
                delay = self.retry_delays[min(attempt, len(self.retry_delays) - 1)]
                if attempt == 0 or delay == self.retry_delays[-1]:
                    self.log(f"the back office at {self.base} does not answer ({exc}): trying again in {delay} s")
                if self._stopping.wait(delay):
                    raise
                continue
            if attempt:
                self.log("the back office answers again")
            return answer
        raise AssertionError("unreachable")


class Client(Http):
    """One station's calls to the back office at `url` (its root, e.g. http://127.0.0.1:5000)."""

    def __init__(self, url: str, credential: str, *, log: Callable[[str], None] = print,
                 retry_delays: tuple[float, ...] = RETRY_DELAYS, timeout: float = TIMEOUT):
        super().__init__(url.rstrip("/") + API, credential, log=log, retry_delays=retry_delays, timeout=timeout)
        self._pending: list[tuple[str, StepReport]] = []  # (job ID, report) not sent yet
        self._queued = threading.Condition()  # guards _pending
        self._sending = threading.Lock()  # one call carrying reports at a time: they arrive in order
        self._taken: set[str] = set()  # jobs a report of which got a 409
        self._credential_refused = False
        self._sender = threading.Thread(target=self._send_reports, name="step-reports", daemon=True)
        self._sender.start()

    # --- the calls

    def poll(self, tokens: list[TokenSeen], running_job: str | None = None,
             wait: float = POLL_WAIT_SECONDS) -> PollAnswer:
        """Wait (up to `wait` seconds, as the back office holds it) for a job."""
        self._check_credential()
        answer = self._call("/poll", to_json(PollRequest(tokens=tokens, running_job=running_job, wait=wait)),
                            timeout=wait + self.timeout)
        return poll_answer(answer)

    def step(self, job_id: str, report: StepReport) -> None:
        self._check(job_id)
        with self._queued:
            self._pending.append((job_id, report))
            self._queued.notify()

    def flush(self) -> None:
        """Returns once every report queued so far was sent (or dropped: its job was taken)."""
        with self._sending:
            self._send(self._take())
        self._check_credential()

    def certificate(self, job_id: str, request: CertificateRequest) -> CertificateAnswer:
        answer = self._with_reports(job_id, f"/jobs/{job_id}/certificate", to_json(request))
        return CertificateAnswer(certificate_pem=answer["certificate_pem"], chain_pem=list(answer.get("chain_pem", [])))

    def finish(self, job_id: str, request: FinishRequest) -> None:
        self._with_reports(job_id, f"/jobs/{job_id}/finish", to_json(request))

    def failure(self, job_id: str, report: FailureReport) -> None:
        self._with_reports(job_id, f"/jobs/{job_id}/failure", to_json(report))

    def wiped(self, wipe_id: str, done: WipeDone) -> None:
        self._check_credential()
        self._call(f"/wipes/{wipe_id}/done", to_json(done))

    def wipe_failed(self, wipe_id: str, report: FailureReport) -> None:
        self._check_credential()
        self._call(f"/wipes/{wipe_id}/failure", to_json(report))

    def unlocked(self, unlock_id: str, done: UnlockDone) -> None:
        self._check_credential()
        self._call(f"/unlocks/{unlock_id}/done", to_json(done))

    def unlock_failed(self, unlock_id: str, report: FailureReport) -> None:
        self._check_credential()
        self._call(f"/unlocks/{unlock_id}/failure", to_json(report))

    def close(self) -> None:
        """Stop the sender (reports not sent yet are dropped: a cut-off run is resumed anyway)."""
        self._stopping.set()
        with self._queued:
            self._queued.notify()

    # --- the reports

    def _with_reports(self, job_id: str, path: str, body: dict) -> dict:
        """`body` posted to `path` with the job's reports not sent yet (other jobs' are sent first)."""
        with self._sending:
            pending = self._take()
            self._send([item for item in pending if item[0] != job_id])
            mine = [report for job, report in pending if job == job_id]
            self._send([(job_id, report) for report in mine[:-MAX_REPORTS]])  # only if very many
            self._check(job_id)
            return self._call(path, {**body, "reports": [to_json(report) for report in mine[-MAX_REPORTS:]]})

    def _check_credential(self) -> None:
        if self._credential_refused:
            raise CredentialRefused("the back office refused the station credential (rotated or revoked?)")

    def _check(self, job_id: str) -> None:
        self._check_credential()
        if job_id in self._taken:
            raise JobTaken(f"job {job_id} is no longer this station's")

    def _take(self) -> list[tuple[str, StepReport]]:
        with self._queued:
            taken, self._pending = self._pending, []
        return taken

    def _send_reports(self) -> None:
        while not self._stopping.is_set():
            with self._queued:
                while not self._pending and not self._stopping.is_set():
                    self._queued.wait()
            # The steps that follow within a moment go in the same call: a call per step would cost
            # the station more than the key's PINs take, and staff cannot tell 50 ms apart.
            self._stopping.wait(COALESCE_SECONDS)
            with self._sending:
                self._send(self._take())

    def _send(self, items: list[tuple[str, StepReport]]) -> None:
        """Each job's reports in calls of up to MAX_REPORTS, in order. Under _sending."""
        for job_id, group in itertools.groupby(items, key=lambda item: item[0]):
            reports = [report for _, report in group]
            for start in range(0, len(reports), MAX_REPORTS):
                if job_id in self._taken or self._credential_refused:
                    break
                chunk = reports[start:start + MAX_REPORTS]
                try:
                    self._call(f"/jobs/{job_id}/steps", {"reports": [to_json(report) for report in chunk]})
                except JobTaken:
                    self._taken.add(job_id)
                except CredentialRefused:
                    self._credential_refused = True
                except (Refused, SigningUnavailable) as exc:
                    self.log(f"job {job_id}: the reports up to {chunk[-1].step} were refused: {exc}")
                except Unreachable:
                    return  # stopping
                except Exception as exc:  # the sender must live on: the run notices at its next call
                    self.log(f"job {job_id}: the reports up to {chunk[-1].step} could not be sent: {exc!r}")


def _error(status: int, text: bytes, unauthorised: type[CredentialRefused] = CredentialRefused,
           refused_what: str = "the station credential") -> Exception:
    try:
        body = json.loads(text)
        code, message = str(body.get("error", status)), str(body.get("message", ""))
    except (ValueError, AttributeError):
        code, message = str(status), text[:200].decode("utf-8", "replace")
    if status == 401:
        return unauthorised(f"the back office refused {refused_what}: {message or code}")
    if status == 409:
        return JobTaken(message or code)
    if status == 503:
        return SigningUnavailable(message or code)
    return Refused(code, message or f"HTTP {status}")
