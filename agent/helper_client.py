"""The back office over HTTP as the key helper talks to it (protocol.helper, under /helper/api/v1):
urllib and JSON as agent.client, whose error mapping and retries it shares (agent.client.Http).

Pairing sends the one-time code and no credential; its answer's credential is sent with every call
after it. The helper's steps are few: each is sent at once, synchronously (no report thread).

Errors: 401 raises SessionOver (the session ended, or the credential is unknown: the helper stops),
409 JobTaken (the task is no longer this helper's), 422 Refused with the back office's code (e.g.
`code_unknown` for a pairing code that is wrong, used or expired), 503 SigningUnavailable. The back
office not answering (refused connection, timeout, 502/504) is retried with a growing delay.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields

from agent.backoffice import SessionOver
from agent.client import RETRY_DELAYS, TIMEOUT, Http
from protocol.helper import (
    API,
    POLL_WAIT_SECONDS,
    CertificateAnswer,
    CertificateRequest,
    FinishRequest,
    HelperFailure,
    HelperPoll,
    HelperPollAnswer,
    HelperReport,
    KeyOnPc,
    LoginProof,
    LoginTask,
    PairAnswer,
    PairRequest,
    RenewTask,
    Task,
    UnlockDone,
    UnlockTask,
    poll_answer_from_json,
    to_json,
)

_KNOWN = {name: {f.name for f in fields(kind)} for name, kind in
          (("task", Task), ("login", LoginTask), ("renew", RenewTask), ("unlock", UnlockTask))}


def poll_answer(data: dict) -> HelperPollAnswer:
    """A poll's answer; fields of a task this helper does not know are left out (a newer back office
    may send more)."""
    task = data.get("task")
    if task:
        task = {key: value for key, value in task.items() if key in _KNOWN["task"]}
        for kind in ("login", "renew", "unlock"):
            if task.get(kind):
                task[kind] = {key: value for key, value in task[kind].items() if key in _KNOWN[kind]}
    return poll_answer_from_json({**data, "task": task})


class HelperClient(Http):
    """One key helper's calls to the back office at `url` (its root, e.g. http://127.0.0.1:5000)."""

    unauthorised = SessionOver
    refused_what = "this helper's session (it is over)"

    def __init__(self, url: str, *, log: Callable[[str], None] = print,
                 retry_delays: tuple[float, ...] = RETRY_DELAYS, timeout: float = TIMEOUT):
        super().__init__(url.rstrip("/") + API, "", log=log, retry_delays=retry_delays, timeout=timeout)

    def pair(self, code: str, keys: list[KeyOnPc], helper_version: str = "") -> PairAnswer:
        """The session of the page showing `code` (Refused "code_unknown" when wrong, used or expired);
        its credential is sent with every call from now on."""
        answer = self._call("/pair", to_json(PairRequest(code=code, keys=keys, helper_version=helper_version)))
        paired = PairAnswer(credential=str(answer["credential"]), session_id=str(answer.get("session_id", "")),
                            purpose=str(answer.get("purpose", "")))
        self.credential = paired.credential
        return paired

    def poll(self, keys: list[KeyOnPc], running_task: str | None = None,
             wait: float = POLL_WAIT_SECONDS) -> HelperPollAnswer:
        """The session's next task, none yet, or `over` (waits up to `wait` seconds)."""
        answer = self._call("/poll", to_json(HelperPoll(keys=keys, running_task=running_task, wait=wait)),
                            timeout=wait + self.timeout)
        return poll_answer(answer)

    def step(self, task_id: str, report: HelperReport) -> None:
        self._call(f"/tasks/{task_id}/steps", {"reports": [to_json(report)]})

    def login(self, task_id: str, proof: LoginProof) -> None:
        self._call(f"/tasks/{task_id}/login", to_json(proof))

    def certificate(self, task_id: str, request: CertificateRequest) -> CertificateAnswer:
        answer = self._call(f"/tasks/{task_id}/certificate", to_json(request))
        return CertificateAnswer(certificate_pem=answer["certificate_pem"], chain_pem=list(answer.get("chain_pem", [])))

    def finish(self, task_id: str, request: FinishRequest) -> None:
        self._call(f"/tasks/{task_id}/finish", to_json(request))

    def unlocked(self, task_id: str, done: UnlockDone) -> None:
        self._call(f"/tasks/{task_id}/unlocked", to_json(done))

    def failure(self, task_id: str, failure: HelperFailure) -> None:
        self._call(f"/tasks/{task_id}/failure", to_json(failure))

    def failure_once(self, task_id: str, failure: HelperFailure) -> bool:
        """The failure sent once, not retried (the helper is stopping); whether it got through."""
        try:
            self._post(f"/tasks/{task_id}/failure", to_json(failure), timeout=min(self.timeout, 5))
        except Exception:  # stopping anyway: nothing to do about it
            return False
        return True

    def close(self) -> None:
        """A call waiting for the back office to answer again gives up."""
        self._stopping.set()

