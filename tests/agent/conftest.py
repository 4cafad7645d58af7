"""Fixtures of the station agent's tests: a SoftHSM2 token store of each test's own, blank keys in
it, a throwaway CA, and a back office in the test process (no HTTP) that issues and checks.

Each test gets its own store: SoftHSM2 re-reads SOFTHSM2_CONF whenever the module is initialised
again (agent.tokens.Station.refresh), so the store is switched by re-initialising, and switched
back (to whatever the environment names then) when the test is over.
"""
from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass, field, replace

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agent.tokens import Station
from protocol.station import (
    CertificateAnswer,
    CertificateRequest,
    FailureReport,
    FinishRequest,
    Job,
    KeyType,
    Step,
    StepReport,
    UnlockDone,
    WipeDone,
)
from tests.softhsm import MODULE, token_store

TRANSPORT_SO_PIN = "transport-so"  # the SO PIN a blank key comes with


@dataclass
class Keys:
    """The test's token store and the agent's view of it."""

    hsm: object  # tests.softhsm.SoftHsm
    station: Station
    folder: object  # the store's tokens folder

    def blank(self, label: str | None = None, *, so_pin: str = TRANSPORT_SO_PIN) -> str:
        """A blank key (initialised with `so_pin`, no objects): its serial."""
        label = label or f"blank-{uuid.uuid4().hex[:6]}"
        self.hsm.init_token(label, so_pin=so_pin)
        self.station.refresh()
        return next(token.serial for token in self.station.present() if token.label == label)


@pytest.fixture
def keys(tmp_path):
    with token_store(tmp_path / "softhsm") as hsm:
        station = Station(MODULE)
        station.refresh()  # this test's store
        try:
            yield Keys(hsm=hsm, station=station, folder=tmp_path / "softhsm" / "tokens")
        finally:
            station.refresh()  # closes what the test left open
    pkcs11.lib(MODULE).reinitialize()  # back to the store the environment names now


class ThrowawayCa:
    """A root and an issuing CA (P-256, keys in memory) that certify whatever a request says."""

    def __init__(self):
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.issuing_key = ec.generate_private_key(ec.SECP256R1())
        self.root = self._certificate("Agent Test Root", self.root_key.public_key(), "Agent Test Root",
                                      self.root_key, ca=True)
        self.issuing = self._certificate("Agent Test Issuing CA", self.issuing_key.public_key(), "Agent Test Root",
                                         self.root_key, ca=True)

    @staticmethod
    def _certificate(subject, public_key, issuer, key, *, ca: bool, name: x509.Name | None = None):
        now = dt.datetime.now(dt.UTC)
        return (x509.CertificateBuilder()
                .subject_name(name or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                .public_key(public_key).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))

    def issue(self, csr_pem: str) -> x509.Certificate:
        request = x509.load_pem_x509_csr(csr_pem.encode())
        assert request.is_signature_valid
        return self._certificate("", request.public_key(), "Agent Test Issuing CA", self.issuing_key, ca=False,
                                 name=request.subject)

    @property
    def chain_pem(self) -> list[str]:
        return [pem(self.issuing), pem(self.root)]


def pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


class Cut(BaseException):
    """The run is cut off here, as a SIGKILL would (not an Exception: nothing in the run catches it)."""


@dataclass
class FakeBackOffice:
    """The back office a run talks to, in the test process: records every call, issues with the
    throwaway CA, checks the finish as the real one would. `on_step[step]` runs after that step's
    report is recorded (to cut the run off, pull the key, ...); `certificate_error` is raised by
    the certificate call instead of answering."""

    ca: ThrowawayCa
    jobs: dict = field(default_factory=dict)
    events: list = field(default_factory=list)
    on_step: dict = field(default_factory=dict)
    certificate_error: Exception | None = None
    issued: dict = field(default_factory=dict)  # job ID -> the certificate it got

    def step(self, job_id: str, report: StepReport) -> None:
        self.events.append(("step", job_id, report))
        if report.step in self.on_step:
            self.on_step[report.step]()

    def certificate(self, job_id: str, request: CertificateRequest) -> CertificateAnswer:
        self.events.append(("certificate", job_id, request))
        if self.certificate_error is not None:
            raise self.certificate_error
        certificate = self.ca.issue(request.csr_pem)
        self.issued[job_id] = certificate
        return CertificateAnswer(certificate_pem=pem(certificate), chain_pem=self.ca.chain_pem)

    def finish(self, job_id: str, request: FinishRequest) -> None:
        certificate = x509.load_pem_x509_certificate(request.certificate_pem.encode())
        challenge = bytes.fromhex(self.jobs[job_id].challenge)
        certificate.public_key().verify(bytes.fromhex(request.signature), challenge, *(
            (ec.ECDSA(hashes.SHA256()),) if isinstance(certificate.public_key(), ec.EllipticCurvePublicKey)
            else (_pkcs1v15(), hashes.SHA256())))
        self.events.append(("finish", job_id, request))

    def failure(self, job_id: str, report: FailureReport) -> None:
        self.events.append(("failure", job_id, report))

    def wiped(self, wipe_id: str, done: WipeDone) -> None:
        self.events.append(("wiped", wipe_id, done))

    def wipe_failed(self, wipe_id: str, report: FailureReport) -> None:
        self.events.append(("wipe_failed", wipe_id, report))

    def unlocked(self, unlock_id: str, done: UnlockDone) -> None:
        self.events.append(("unlocked", unlock_id, done))

    def unlock_failed(self, unlock_id: str, report: FailureReport) -> None:
        self.events.append(("unlock_failed", unlock_id, report))

    # --- reading what happened

    def reports(self, job_id: str | None = None) -> list[StepReport]:
        return [event[2] for event in self.events if event[0] == "step" and job_id in (None, event[1])]

    def steps(self, job_id: str | None = None) -> list[Step]:
        return [report.step for report in self.reports(job_id)]

    def skipped(self, job_id: str | None = None) -> list[Step]:
        return [report.step for report in self.reports(job_id) if report.detail.get("skipped")]

    def failures(self) -> list[FailureReport]:
        return [event[2] for event in self.events if event[0] == "failure"]

    def finished(self) -> list[FinishRequest]:
        return [event[2] for event in self.events if event[0] == "finish"]

    def wrong_pins(self) -> list[dict]:
        return [pin for event in self.events if event[0] in ("step", "failure") for pin in event[2].wrong_pins]

    def calls(self, kind: str) -> int:
        return sum(1 for event in self.events if event[0] == kind)


def _pkcs1v15():
    from cryptography.hazmat.primitives.asymmetric import padding

    return padding.PKCS1v15()


@pytest.fixture(scope="session")
def ca() -> ThrowawayCa:
    return ThrowawayCa()


@pytest.fixture
def backoffice(ca) -> FakeBackOffice:
    return FakeBackOffice(ca)


@pytest.fixture
def make_job(backoffice):
    """make_job(serial, **fields) -> Job: a P-256 job for a blank key, registered with the back office."""

    def make(serial: str, **fields) -> Job:
        job = Job(job_id=uuid.uuid4().hex, order_number=f"O{uuid.uuid4().hex[:10].upper()}", media_serial=serial,
                  token_label="ESEAL-TEST", key_type=KeyType.EC_P256, key_id=os.urandom(16).hex(),
                  subject=[["2.5.4.6", "CN"], ["2.5.4.8", "河南省"], ["2.5.4.3", "郑州测试有限公司"]],
                  user_pin="user-pin-8", so_pin=f"so-{uuid.uuid4().hex[:8]}", current_so_pins=[TRANSPORT_SO_PIN],
                  challenge=os.urandom(32).hex(), pin_tries_left=10)
        job = replace(job, **fields)
        backoffice.jobs[job.job_id] = job
        return job

    return make
