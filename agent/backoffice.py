"""What a job run (and a returned key's wipe) needs of the back office, and the answers that change
its course.

agent.programming talks to this interface only, so it runs against the HTTP client
(agent.client) in production and against an object in the test process in tests. The calls follow
protocol.station: `step` may only queue its report (it must not wait on the network), the others
are answered before they return and see every step queued before them sent first.
"""
from __future__ import annotations

from typing import Protocol

from protocol.helper import HelperFailure, HelperReport, LoginProof
from protocol.station import (
    CertificateAnswer,
    CertificateRequest,
    FailureReport,
    FinishRequest,
    StepReport,
    UnlockDone,
    WipeDone,
)


class BackOfficeError(Exception):
    """The back office answered a job call with an error."""


class JobTaken(BackOfficeError):
    """HTTP 409: the job is no longer this station's (staff wiped it or gave it to another): stop
    it quietly, report nothing more about it."""


class SigningUnavailable(BackOfficeError):
    """HTTP 503: the signing service cannot be reached; the job is interrupted and resumed later."""


class Refused(BackOfficeError):
    """HTTP 422 (or another 4xx): the back office refused the call; `code` names its rule."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code


class CredentialRefused(BackOfficeError):
    """HTTP 401: the station credential is unknown, rotated or revoked. The agent stops."""


class SessionOver(CredentialRefused):
    """HTTP 401 to the key helper: its session is over (done, cancelled, expired) or the
    credential is unknown. The helper stops."""


class BackOffice(Protocol):
    def step(self, job_id: str, report: StepReport) -> None:
        """Queue the step's report (sent in order). Raises JobTaken once an earlier report of this
        job got a 409, so the job stops at its next step."""

    def certificate(self, job_id: str, request: CertificateRequest) -> CertificateAnswer:
        """The certificate for the request (SigningUnavailable, Refused, JobTaken)."""

    def finish(self, job_id: str, request: FinishRequest) -> None:
        """The job is done: the certificate read back and the challenge signed on the token."""

    def failure(self, job_id: str, report: FailureReport) -> None:
        """The job failed at a step."""

    def wiped(self, wipe_id: str, done: WipeDone) -> None:
        """The returned key is wiped and checked empty (JobTaken: the wipe is not this station's)."""

    def wipe_failed(self, wipe_id: str, report: FailureReport) -> None:
        """The returned key could not be wiped."""

    def unlocked(self, unlock_id: str, done: UnlockDone) -> None:
        """The locked key is unlocked with its new PINs (JobTaken: the unlock is not this station's)."""

    def unlock_failed(self, unlock_id: str, report: FailureReport) -> None:
        """The locked key could not be unlocked."""


class HelperBackOffice(Protocol):
    """What the key helper's task runs (agent.renewing, agent.unlocking) need of the back office
    (protocol.helper). Every call is answered before it returns; the errors are those above, with
    SessionOver for a 401."""

    def step(self, task_id: str, report: HelperReport) -> None:
        """The step is done (sent at once: the helper's steps are few)."""

    def login(self, task_id: str, proof: LoginProof) -> None:
        """The key login's proof: the challenge signed with the certificate's key pair."""

    def certificate(self, task_id: str, request: CertificateRequest) -> CertificateAnswer:
        """The renewed certificate for the request (SigningUnavailable, Refused, JobTaken)."""

    def finish(self, task_id: str, request: FinishRequest) -> None:
        """The new certificate read back and the challenge signed with the new key: checked by the
        back office. The old key pair is deleted only once this returns."""

    def unlocked(self, task_id: str, done: UnlockDone) -> None:
        """The key is unlocked with the new key password and SO PIN."""

    def failure(self, task_id: str, failure: HelperFailure) -> None:
        """The task failed (a code of protocol.helper.FAILURES)."""
