"""The key helper's tasks on the applicant's own key (protocol.helper): the key login and the renewal
(used by information change too); the unlock is agent.unlocking's, the station's code.

Key passwords (user PINs) are typed into the helper, never into the page: `KeyPasswords` asks for
one through the helper's prompt, tries it, counts each wrong one in the task's `wrong_pins`, asks
again while a wrong try would still leave one (`pin_tries_left > 1`, as the station agent counts
its PINs), and holds the right one for the rest of the session, so a renewal after the login does
not ask again.

The renewal, in one user session on the key: a new key pair with the task's CKA_ID, a PKCS#10
request signed on the key, the certificate from the back office, written with its chain, read back
and the challenge signed with the NEW key (checked here, then by the back office at `finish`), and
only then the old key pair and certificate deleted. The key password stays as it is.

A renewal cut off anywhere is run again with the same task (and `certificate_pem` once the back
office issued one) and goes on: objects of the new CKA_ID are kept only when they are the key pair of
the certificate issued (agent.tokens.KeySession.clear_except, limited to that ID) and otherwise
deleted and made again, but only while no certificate was issued (a certificate issued for a key pair
that is gone fails the task: the back office starts another with a new CKA_ID); a certificate
written is not written twice (nor the chain: write_chain skips what is there); an old key pair
deleted already is skipped. The old key pair is never touched before the new certificate verifies.

Every step of protocol.helper.HelperStep a renewal goes through is reported, also when nothing had to
be done for it (detail {"skipped": true, "reason": ...}). Failures are reported with a code of
protocol.helper.FAILURES and the step worked on; a 409 stops the task quietly; a 401 (the session
is over) goes through to the helper, which stops.
"""
from __future__ import annotations

import traceback
from collections.abc import Callable

from asn1crypto import x509

from agent.backoffice import BackOfficeError, CredentialRefused, HelperBackOffice, JobTaken
from agent.programming import RUN_FAILURES, Failed, Outcome, as_failure
from agent.tokens import (
    KeySession,
    Station,
    WrongPin,
    certificate_der,
    certificate_pem,
    same_public_key,
    verifies,
)
from protocol.helper import (
    CertificateRequest,
    FinishRequest,
    HelperFailure,
    HelperReport,
    HelperStep,
    LoginProof,
    Task,
)
from protocol.station import PinKind

# ask(prompt) -> the key password typed (agent.helper.PinPrompt); EOFError: nothing more to read.
Ask = Callable[[str], str]


class KeyPasswords:
    """The key passwords of this helper session: asked for with `ask`, the right one held per key."""

    def __init__(self, ask: Ask):
        self.ask = ask
        self.held: dict[str, str] = {}  # media serial -> the key password that opened it

    def forget(self, serial: str) -> None:
        self.held.pop(serial, None)

    def opening(self, station: Station, serial: str, tries_left: int, wrong_pins: list[dict]) -> str:
        """The key password that opens the key `serial`: the one held, else asked for (again after
        each wrong one, each counted in `wrong_pins`) while a wrong try leaves a try. Failed
        ("wrong_pin") when none may be tried, PinLocked when the key says it is locked."""
        pin = self.held.get(serial)
        prompt = f"Key password for key {serial}: "
        while True:
            if tries_left <= 1:
                raise Failed("wrong_pin", f"{tries_left} key password tries left: the key would lock at the next "
                                          "wrong one, none is tried (unlock the key first)")
            if pin is None:
                pin = self.ask(prompt)
            try:
                with station.user_session(serial, pin):
                    pass
            except WrongPin:
                wrong_pins.append({"pin": PinKind.USER.value})
                tries_left -= 1
                self.forget(serial)
                pin = None
                prompt = f"Wrong key password ({tries_left} tries left). Key password for key {serial}: "
                continue
            self.held[serial] = pin
            return pin


class HelperRun:
    """One task of the helper: its reports, and how an exception ends it (as agent.programming's)."""

    def __init__(self, task_id: str, backoffice: HelperBackOffice, log: Callable[[str], None]):
        self.task_id, self.backoffice, self.log = task_id, backoffice, log
        self.doing: HelperStep | None = None
        self.wrong_pins: list[dict] = []  # not reported yet

    def take_wrong_pins(self) -> list[dict]:
        wrong, self.wrong_pins = self.wrong_pins, []
        return wrong

    def report(self, step: HelperStep, **detail) -> None:
        self.backoffice.step(self.task_id, HelperReport(step=step, detail=detail, wrong_pins=self.take_wrong_pins()))

    def skip(self, step: HelperStep, reason: str) -> None:
        self.report(step, skipped=True, reason=reason)

    def run(self, work: Callable[[HelperRun], None]) -> Outcome:
        """`work(self)`; how it ended. CredentialRefused (SessionOver) and KeyboardInterrupt go through."""
        try:
            work(self)
            return Outcome.VERIFIED
        except JobTaken:
            self.log(f"task {self.task_id}: taken away by the back office")
            return Outcome.TAKEN
        except CredentialRefused:
            raise
        except RUN_FAILURES as exc:
            if isinstance(exc, WrongPin):  # a PIN that had just worked was refused
                self.wrong_pins.append({"pin": exc.kind.value})
            return self.fail(as_failure(exc))
        except EOFError:
            return self.fail(Failed("cancelled", "no key password was typed"))
        except Exception as exc:  # a bug, or a task the helper cannot read: it fails, the helper goes on
            self.log(traceback.format_exc())
            return self.fail(Failed("token_error", f"the helper failed: {exc!r}"))

    def fail(self, failure: Failed) -> Outcome:
        self.log(f"task {self.task_id}: failed{f' at {self.doing}' if self.doing else ''}: {failure}")
        try:
            self.backoffice.failure(self.task_id, HelperFailure(error=failure.code, message=str(failure),
                                                                step=self.doing, wrong_pins=self.take_wrong_pins()))
        except JobTaken:
            return Outcome.TAKEN
        except CredentialRefused:
            raise
        except BackOfficeError as exc:
            self.log(f"task {self.task_id}: the failure report was refused: {exc}")
        return Outcome.FAILED


# --- the key login -----------------------------------------------------------------------------


def sign_with_certificate(station: Station, serial: str, user_pin: str, certificate_serial: str,
                          challenge: bytes) -> bytes:
    """`challenge` signed with the key pair of the certificate of serial `certificate_serial` (hex) on
    the key, logged in with `user_pin` (WrongPin when it is wrong); checked with the certificate."""
    with station.user_session(serial, user_pin) as key:
        found = key.certificate_with_serial(certificate_serial)
        if found is None:
            raise Failed("token_error", f"no certificate of serial {certificate_serial} is on key {serial}")
        signature = key.sign(found.key_id, challenge)
    if not verifies(x509.Certificate.load(found.der).public_key, challenge, signature):
        raise Failed("token_error", f"the key pair of certificate {certificate_serial} does not sign for it")
    return signature


def login(task: Task, station: Station, backoffice: HelperBackOffice, passwords: KeyPasswords, *,
          log: Callable[[str], None] = lambda line: None) -> Outcome:
    """The key login task: the key password typed, the challenge signed, the proof sent."""
    assert task.login is not None
    return HelperRun(task.task_id, backoffice, log).run(lambda run: _login(task, station, passwords, run))


def _login(task: Task, station: Station, passwords: KeyPasswords, run: HelperRun) -> None:
    order = task.login
    run.doing = HelperStep.LOGGED_IN
    station.token(order.media_serial)  # TokenNotFound before a password is asked for
    pin = passwords.opening(station, order.media_serial, order.pin_tries_left, run.wrong_pins)
    signature = sign_with_certificate(station, order.media_serial, pin, order.certificate_serial,
                                      bytes.fromhex(order.challenge))
    run.backoffice.login(task.task_id, LoginProof(signature=signature.hex(), wrong_pins=run.take_wrong_pins()))


# --- the renewal -------------------------------------------------------------------------------


def run(task: Task, station: Station, backoffice: HelperBackOffice, passwords: KeyPasswords, *,
        log: Callable[[str], None] = lambda line: None) -> Outcome:
    """The renew task on its key; how it ended (VERIFIED: finished, and the old key pair deleted)."""
    assert task.renew is not None
    return HelperRun(task.task_id, backoffice, log).run(lambda helper_run: _renew(task, station, passwords, helper_run))


def _renew(task: Task, station: Station, passwords: KeyPasswords, run: HelperRun) -> None:
    renew = task.renew
    serial, key_id = renew.media_serial, bytes.fromhex(renew.key_id)
    run.doing = HelperStep.LOGGED_IN
    token = station.token(serial)
    pin = passwords.opening(station, serial, renew.pin_tries_left, run.wrong_pins)
    with station.user_session(serial, pin) as key:
        run.report(HelperStep.LOGGED_IN)
        old = key.certificate_with_serial(renew.certificate_serial)
        if old is not None and old.key_id == key_id:
            raise Failed("refused", "the new key pair's CKA_ID is the old one's")
        label = old.label if old is not None else token.label
        certificate, chain = _new_key_and_certificate(task, key, key_id, label, run)

        run.doing = HelperStep.CERTIFICATE_WRITTEN
        if [c.der for c in key.certificates() if c.key_id == key_id] == [certificate]:
            run.skip(HelperStep.CERTIFICATE_WRITTEN, "the certificate is on the key")
        else:
            key.write_certificate(certificate, key_id, label)
            run.report(HelperStep.CERTIFICATE_WRITTEN)
        run.doing = HelperStep.CHAIN_WRITTEN
        key.write_chain(chain)  # a CA certificate on the key already is not written again
        run.report(HelperStep.CHAIN_WRITTEN, certificates=len(chain))

        run.doing = HelperStep.VERIFIED
        read_back = key.read_certificate(key_id)
        challenge = bytes.fromhex(renew.challenge)
        signature = key.sign(key_id, challenge)
        if read_back != certificate:
            raise Failed("token_error", "the certificate read back is not the one written")
        if not verifies(x509.Certificate.load(read_back).public_key, challenge, signature):
            raise Failed("token_error", "the challenge signed with the new key does not verify with its certificate")
        run.report(HelperStep.VERIFIED)
        run.backoffice.finish(task.task_id, FinishRequest(certificate_pem=certificate_pem(read_back),
                                                          signature=signature.hex()))

        # Only now, the back office having checked the new certificate on the key: the old key pair.
        run.doing = HelperStep.OLD_KEY_DELETED
        old = key.certificate_with_serial(renew.certificate_serial)
        if old is None:
            run.skip(HelperStep.OLD_KEY_DELETED, "the old certificate is not on the key")
            return
        deleted = key.delete_key_pair(old.key_id) if old.key_id else 0
        key.delete_certificate(old.der)
        run.report(HelperStep.OLD_KEY_DELETED, keys=deleted)


def _new_key_and_certificate(task: Task, key: KeySession, key_id: bytes, label: str,
                             run: HelperRun) -> tuple[bytes, list[bytes]]:
    """The new key pair on the key and its certificate (DER) and chain: the task's certificate if its
    key pair is there, else a new key pair and the certificate issued for it."""
    renew = task.renew
    held = certificate_der(renew.certificate_pem) if renew.certificate_pem else None
    run.doing = HelperStep.KEY_GENERATED
    if key.clear_except(held, key_id=key_id):  # only the objects of the new CKA_ID: the old pair stays
        for step in (HelperStep.KEY_GENERATED, HelperStep.REQUEST_SIGNED, HelperStep.CERTIFICATE_ISSUED):
            run.skip(step, "the key pair of the certificate issued is on the key")
        return held, [certificate_der(pem) for pem in renew.chain_pem]
    if held is not None:
        raise Failed("token_error", "the key pair the certificate was issued for is not on the key: "
                                    "the renewal starts again with a new key pair")

    public_key = key.generate(renew.key_type, key_id, label)
    run.report(HelperStep.KEY_GENERATED, key_type=renew.key_type.value)
    run.doing = HelperStep.REQUEST_SIGNED
    subject = [(str(oid), str(value)) for oid, value in renew.subject]
    request = key.certification_request(key_id, subject)
    run.report(HelperStep.REQUEST_SIGNED)
    run.doing = HelperStep.CERTIFICATE_ISSUED
    answer = run.backoffice.certificate(task.task_id, CertificateRequest(csr_pem=request))
    certificate = certificate_der(answer.certificate_pem)
    issued = x509.Certificate.load(certificate)
    if not same_public_key(issued.public_key, public_key):
        raise Failed("refused", "the certificate issued is not for the new key pair on the key")
    run.report(HelperStep.CERTIFICATE_ISSUED, serial=format(issued.serial_number, "x"))
    return certificate, [certificate_der(pem) for pem in answer.chain_pem]
