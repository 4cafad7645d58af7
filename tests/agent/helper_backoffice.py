"""The back office as the key helper sees it, in the test process: `FakeHelperBackOffice` (the calls
of agent.backoffice.HelperBackOffice, recorded, certificates issued by the throwaway CA, the login
proof and the finish checked as the real one would), and `HelperDesk`, the same behind HTTP
(tests.agent.http_backoffice.serving) for the `ukey-helper` process: pairing, polls, tasks."""
from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding

from protocol.helper import (
    CertificateAnswer,
    CertificateRequest,
    FinishRequest,
    HelperFailure,
    HelperReport,
    HelperStep,
    LoginProof,
    Task,
    UnlockDone,
    report_from_json,
)
from tests.agent.conftest import ThrowawayCa, pem


def check_signature(certificate: x509.Certificate, challenge_hex: str, signature_hex: str) -> None:
    """Raises InvalidSignature unless the challenge was signed with the certificate's key pair."""
    key = certificate.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(bytes.fromhex(signature_hex), bytes.fromhex(challenge_hex), ec.ECDSA(hashes.SHA256()))
    else:
        key.verify(bytes.fromhex(signature_hex), bytes.fromhex(challenge_hex), padding.PKCS1v15(), hashes.SHA256())


@dataclass
class FakeHelperBackOffice:
    """`certificates` holds the certificates the back office knows by serial (hex), for the logins;
    `on_step[step]` runs after that report is recorded, `on_finish` after a finish is checked and
    recorded (to cut the run off there); `certificate_error` / `finish_error` is raised instead."""

    ca: ThrowawayCa
    tasks: dict = field(default_factory=dict)  # task ID -> Task
    certificates: dict = field(default_factory=dict)  # serial hex -> x509.Certificate
    events: list = field(default_factory=list)
    on_step: dict = field(default_factory=dict)
    on_finish: object = None
    certificate_error: Exception | None = None
    finish_error: Exception | None = None
    issued: dict = field(default_factory=dict)  # task ID -> the certificate it got

    def step(self, task_id: str, report: HelperReport) -> None:
        self.events.append(("step", task_id, report))
        if report.step in self.on_step:
            self.on_step[report.step]()

    def login(self, task_id: str, proof: LoginProof) -> None:
        order = self.tasks[task_id].login
        check_signature(self.certificates[order.certificate_serial], order.challenge, proof.signature)
        self.events.append(("login", task_id, proof))

    def certificate(self, task_id: str, request: CertificateRequest) -> CertificateAnswer:
        self.events.append(("certificate", task_id, request))
        if self.certificate_error is not None:
            raise self.certificate_error
        certificate = self.ca.issue(request.csr_pem)
        self.issued[task_id] = certificate
        self.certificates[format(certificate.serial_number, "x")] = certificate
        return CertificateAnswer(certificate_pem=pem(certificate), chain_pem=self.ca.chain_pem)

    def finish(self, task_id: str, request: FinishRequest) -> None:
        if self.finish_error is not None:
            raise self.finish_error
        certificate = x509.load_pem_x509_certificate(request.certificate_pem.encode())
        assert certificate == self.issued[task_id] or pem(certificate) == self.tasks[task_id].renew.certificate_pem
        check_signature(certificate, self.tasks[task_id].renew.challenge, request.signature)
        self.events.append(("finish", task_id, request))
        if self.on_finish is not None:
            self.on_finish()

    def unlocked(self, task_id: str, done: UnlockDone) -> None:
        self.events.append(("unlocked", task_id, done))

    def failure(self, task_id: str, failure: HelperFailure) -> None:
        self.events.append(("failure", task_id, failure))

    # --- reading what happened

    def reports(self) -> list[HelperReport]:
        return [event[2] for event in self.events if event[0] == "step"]

    def steps(self) -> list[HelperStep]:
        return [report.step for report in self.reports()]

    def skipped(self) -> list[HelperStep]:
        return [report.step for report in self.reports() if report.detail.get("skipped")]

    def kinds(self) -> list[str]:
        return [event[0] for event in self.events]

    def failures(self) -> list[HelperFailure]:
        return [event[2] for event in self.events if event[0] == "failure"]

    def calls(self, kind: str) -> int:
        return sum(1 for event in self.events if event[0] == kind)


CODE = "12345678"
CREDENTIAL = "kh1.session-1.secret"


class HelperDesk:
    """The helper API over HTTP: pairs with CODE (any other is `code_unknown`), hands out the queued
    tasks one per poll, then says the session is over; the task calls go to `fake`."""

    def __init__(self, fake: FakeHelperBackOffice, tasks: list[Task], *, purpose: str = "renewal"):
        self.fake, self.queue, self.purpose = fake, list(tasks), purpose
        self.pairs: list[dict] = []
        self.polls: list[dict] = []
        self.lock = threading.Lock()
        for task in tasks:
            fake.tasks[task.task_id] = task

    def answer(self, path: str, body: dict) -> tuple[int, dict]:
        if path == "/pair":
            self.pairs.append(body)
            if body["code"].replace("-", "") != CODE:
                return 422, {"error": "code_unknown", "message": "This code is wrong, used or expired."}
            return 200, {"credential": CREDENTIAL, "session_id": "session-1", "purpose": self.purpose}
        with self.lock:
            if path == "/poll":
                self.polls.append(body)
                if self.fake.failures():
                    return 200, {"task": None, "over": True, "message": "The task failed."}
                task = self.queue.pop(0) if self.queue else None
                if task is None:
                    time.sleep(0.1)
                    return 200, {"task": None, "over": True, "message": "Renewal done: you may close the helper."}
                return 200, {"task": asdict(task), "over": False, "message": ""}
        task_id, call = path.removeprefix("/tasks/").split("/")
        if call == "steps":
            for report in body["reports"]:
                self.fake.step(task_id, report_from_json(report))
        elif call == "login":
            self.fake.login(task_id, LoginProof(**body))
        elif call == "certificate":
            return 200, asdict(self.fake.certificate(task_id, CertificateRequest(**body)))
        elif call == "finish":
            self.fake.finish(task_id, FinishRequest(**body))
        elif call == "unlocked":
            self.fake.unlocked(task_id, UnlockDone(**body))
        else:
            self.fake.failure(task_id, HelperFailure(**body))
        return 200, {"ok": True}
