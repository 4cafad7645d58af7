"""One job run against a key: PINs, a key pair made on the key, its request, certificate and chain,
and the proof (the certificate read back and a challenge signed on the key), each step reported to
the back office in the order of protocol.station.Step.

A run may be cut off anywhere (the agent killed, the key pulled) and the back office hands the job
out again with `resume=True`; the run then works out what is done from the token itself:

- the user login with the job's user PIN works: initialisation and PINs were done (C_InitToken
  resets the user PIN and the job sets it last), so the run goes on at the key;
- otherwise the fresh path: C_InitToken with the SO PINs the token may have (the job's own first,
  since a cut-off run may have set it), the job's SO PIN, the user PIN;
- at the key, a key pair whose public key is that of the certificate the back office holds for the
  job (`certificate_pem`) is kept with that certificate, and every other key pair and certificate
  is deleted (a run killed while generating may leave a complete pair behind); without such a pair
  all are deleted and a new one is made, so one key pair only is ever on the token.

Reporting: every step of Step is reported in order, also when nothing had to be done for it (its
detail then says {"skipped": true, "reason": ...}), so the back office sees the same sequence in
every run. VERIFIED is not a step report: it is the `finish` call (the back office checks the
signature and the certificate, and says the job is done by answering it).

PIN tries: SoftHSM2 never locks, real keys lock after 10 wrong tries. Each wrong PIN the run drives
(a C_InitToken or login refused) is counted in the job's one budget, `pin_tries_left`, and listed in
the `wrong_pins` of the next report. A PIN is only tried while a wrong try would leave at least one
try (pin_tries_left > 1); otherwise the run fails with `pin_locked` without trying.

Failures are reported with a code of protocol.station.FAILURES and the step being worked on; a 409
from the back office (the job is no longer this station's) stops the run quietly.
"""
from __future__ import annotations

import enum
import time
import traceback
from collections.abc import Callable

from asn1crypto import x509

from agent.backoffice import BackOffice, BackOfficeError, CredentialRefused, JobTaken, Refused, SigningUnavailable
from agent.tokens import (
    KeySession,
    PinLocked,
    Station,
    TokenError,
    UserPinNotSet,
    WrongPin,
    certificate_der,
    certificate_pem,
    same_public_key,
    verifies,
)
from protocol.helper import FAILURES as HELPER_FAILURES
from protocol.station import FAILURES, CertificateRequest, FailureReport, FinishRequest, Job, PinKind, Step, StepReport


class Outcome(enum.StrEnum):
    VERIFIED = "verified"  # finish was accepted
    FAILED = "failed"  # a failure was reported
    TAKEN = "taken"  # the back office took the job away (409): nothing more was reported


class Failed(Exception):
    """The run stops with a failure of `code` (protocol.station.FAILURES, or protocol.helper's for
    the key helper's tasks)."""

    def __init__(self, code: str, message: str):
        assert code in FAILURES or code in HELPER_FAILURES, code
        super().__init__(message)
        self.code = code


def run(job: Job, station: Station, backoffice: BackOffice, *,
        log: Callable[[str], None] = lambda line: None) -> Outcome:
    """Run `job` on its token; how it ended. CredentialRefused goes through (the agent stops)."""
    return _Run(job, station, backoffice, log).run()


def _dedup(pins: list[str]) -> list[str]:
    return list(dict.fromkeys(pins))


def as_failure(exc: Exception) -> Failed:
    """How a run (the station's job, the key helper's task) reports an exception that ended it."""
    if isinstance(exc, Failed):
        return exc
    if isinstance(exc, WrongPin):
        return Failed("token_error", str(exc))
    if isinstance(exc, PinLocked):
        return Failed("pin_locked", str(exc))
    if isinstance(exc, TokenError):
        return Failed(exc.code, str(exc))
    if isinstance(exc, SigningUnavailable):
        return Failed("signing_unavailable", str(exc) or FAILURES["signing_unavailable"])
    return Failed("refused", str(exc))


# What ends a run as a failure it reports (anything else is a bug, reported as a token error).
RUN_FAILURES = (Failed, TokenError, SigningUnavailable, Refused)


class _Run:
    def __init__(self, job: Job, station: Station, backoffice: BackOffice, log):
        self.job, self.station, self.backoffice, self.log = job, station, backoffice, log
        # The signing service checks the request's subject against the reviewed data
        # (issuance.policy.check_subject): the job carries it. Without one, CN = the order number.
        self.subject = [(str(oid), str(value)) for oid, value in job.subject] or [("2.5.4.3", job.order_number)]
        self.key_id = bytes.fromhex(job.key_id)
        self.tries_left = job.pin_tries_left
        self.wrong_pins: list[dict] = []
        self.doing: Step = Step.CLAIMED

    # --- reporting

    def report(self, step: Step, **detail) -> None:
        wrong, self.wrong_pins = self.wrong_pins, []
        self.backoffice.step(self.job.job_id, StepReport(step=step, detail=detail, wrong_pins=wrong))

    def skip(self, step: Step, reason: str) -> None:
        self.report(step, skipped=True, reason=reason)

    def wrong_pin(self, kind: PinKind) -> None:
        self.wrong_pins.append({"pin": kind.value})
        self.tries_left -= 1

    def may_try_pin(self) -> None:
        """Fails with pin_locked when a wrong try now would lock a real key."""
        if self.tries_left <= 1:
            raise Failed("pin_locked", f"{self.tries_left} PIN tries left: the key would lock at the next "
                                       "wrong PIN, none is tried")

    # --- the run

    def run(self) -> Outcome:
        try:
            self.program()
            return Outcome.VERIFIED
        except JobTaken:
            self.log(f"job {self.job.job_id}: taken away by the back office")
            return Outcome.TAKEN
        except CredentialRefused:
            raise
        except RUN_FAILURES as exc:
            if isinstance(exc, WrongPin):  # a PIN that had just worked was refused: count it, and give up
                self.wrong_pin(exc.kind)
            return self.fail(as_failure(exc))
        except Exception as exc:  # a bug, or a job the agent cannot read: the job fails, the agent goes on
            self.log(traceback.format_exc())
            return self.fail(Failed("token_error", f"the agent failed: {exc!r}"))

    def fail(self, failure: Failed) -> Outcome:
        self.log(f"job {self.job.job_id}: failed at {self.doing}: {failure.code}: {failure}")
        wrong, self.wrong_pins = self.wrong_pins, []
        try:
            self.backoffice.failure(self.job.job_id, FailureReport(error=failure.code, message=str(failure),
                                                                   step=self.doing, wrong_pins=wrong))
        except JobTaken:
            return Outcome.TAKEN
        except CredentialRefused:
            raise
        except BackOfficeError as exc:
            self.log(f"job {self.job.job_id}: the failure report was refused: {exc}")
        return Outcome.FAILED

    def program(self) -> None:
        job = self.job
        self.report(Step.CLAIMED, resume=job.resume, wipe=job.wipe)
        self.doing = Step.DETECTED
        token = self.station.token(job.media_serial)
        self.report(Step.DETECTED, label=token.label, model=token.model)

        if job.resume and not job.wipe and self.user_pin_works():
            for step in (Step.TOKEN_INITIALISED, Step.SO_PIN_SET, Step.USER_PIN_SET):
                self.skip(step, "the user PIN works: done before the run was cut off")
        else:
            self.initialise()

        self.doing = Step.GENERATING
        with self.station.user_session(job.media_serial, job.user_pin) as key:
            certificate, chain = self.key_and_certificate(key)
            self.doing = Step.CERTIFICATE_WRITTEN
            on_token = [c.der for c in key.certificates() if c.key_id == self.key_id]
            if on_token == [certificate]:
                self.skip(Step.CERTIFICATE_WRITTEN, "the certificate is on the token")
            else:
                key.write_certificate(certificate, self.key_id, job.token_label)
                self.report(Step.CERTIFICATE_WRITTEN)
            self.doing = Step.CHAIN_WRITTEN
            key.write_chain(chain)
            self.report(Step.CHAIN_WRITTEN, certificates=len(chain))
            self.doing = Step.VERIFIED
            read_back = key.read_certificate(self.key_id)
            challenge = bytes.fromhex(job.challenge)
            signature = key.sign(self.key_id, challenge)
        if read_back != certificate:
            raise Failed("token_error", "the certificate read back is not the one written")
        if not verifies(x509.Certificate.load(read_back).public_key, challenge, signature):
            raise Failed("token_error", "the challenge signed on the token does not verify with the certificate")
        self.backoffice.finish(job.job_id, FinishRequest(certificate_pem=certificate_pem(read_back),
                                                         signature=signature.hex()))
        self.log(f"job {job.job_id}: {Step.VERIFIED}")

    def user_pin_works(self) -> bool:
        """Resume: whether a user login with the job's PIN works (a wrong one is counted)."""
        self.doing = Step.TOKEN_INITIALISED
        if self.tries_left <= 1:
            return False  # not worth a try that could lock the key: the fresh path asks for SO PINs anyway
        try:
            with self.station.user_session(self.job.media_serial, self.job.user_pin):
                return True
        except WrongPin:
            self.wrong_pin(PinKind.USER)
        except (UserPinNotSet, PinLocked):
            pass
        return False

    def initialise(self) -> None:
        """C_InitToken with the SO PIN the token has, then the job's SO PIN and user PIN."""
        job = self.job
        self.doing = Step.TOKEN_INITIALISED
        candidates = _dedup(([job.so_pin] if job.resume else []) + list(job.current_so_pins))
        so_pin = None
        for pin in candidates:
            self.may_try_pin()
            try:
                self.station.init_token(job.media_serial, pin, job.token_label)
            except WrongPin:
                self.wrong_pin(PinKind.SO)
                continue
            so_pin = pin
            break
        if so_pin is None:
            raise Failed("so_pin_unknown", f"none of the {len(candidates)} SO PINs on file opens the key")
        self.report(Step.TOKEN_INITIALISED, so_pin_was_jobs=so_pin == job.so_pin,
                    so_pin_index=job.current_so_pins.index(so_pin) if so_pin in job.current_so_pins else None)

        self.doing = Step.SO_PIN_SET
        if so_pin == job.so_pin:
            self.skip(Step.SO_PIN_SET, "the token has the job's SO PIN")
        else:
            self.station.set_so_pin(job.media_serial, so_pin, job.so_pin)
            self.report(Step.SO_PIN_SET)

        self.doing = Step.USER_PIN_SET
        self.station.init_user_pin(job.media_serial, job.so_pin, job.user_pin)
        self.report(Step.USER_PIN_SET)

    def key_and_certificate(self, key: KeySession) -> tuple[bytes, list[bytes]]:
        """The key pair on the token and its certificate (DER) and chain: the job's certificate if
        its key pair is on the token, else a new key pair and the certificate issued for it."""
        job = self.job
        held = certificate_der(job.certificate_pem) if job.certificate_pem and not job.wipe else None
        if key.clear_except(held):
            self.skip(Step.GENERATING, "the key pair of the job's certificate is on the token")
            self.skip(Step.KEY_GENERATED, "the key pair of the job's certificate is on the token")
            self.skip(Step.REQUEST_SIGNED, "the job's certificate is issued")
            self.skip(Step.CERTIFICATE_ISSUED, "the job's certificate is issued")
            return held, [certificate_der(pem) for pem in job.chain_pem]

        self.report(Step.GENERATING, key_type=job.key_type.value)
        self.doing = Step.KEY_GENERATED
        started = time.monotonic()
        public_key = key.generate(job.key_type, self.key_id, job.token_label)
        self.report(Step.KEY_GENERATED, key_type=job.key_type.value, seconds=round(time.monotonic() - started, 3))

        self.doing = Step.REQUEST_SIGNED
        request = key.certification_request(self.key_id, self.subject)
        self.report(Step.REQUEST_SIGNED)

        self.doing = Step.CERTIFICATE_ISSUED
        answer = self.backoffice.certificate(job.job_id, CertificateRequest(csr_pem=request))
        certificate = certificate_der(answer.certificate_pem)
        issued = x509.Certificate.load(certificate)
        if not same_public_key(issued.public_key, public_key):
            raise Failed("refused", "the certificate issued is not for the key pair on the token")
        self.report(Step.CERTIFICATE_ISSUED, serial=format(issued.serial_number, "x"))
        return certificate, [certificate_der(pem) for pem in answer.chain_pem]

