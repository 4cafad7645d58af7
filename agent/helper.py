"""`ukey-helper` (or `python -m agent.helper`): the key helper on the applicant's own PC, for the
after-sale services done with the USB key plugged in there (renewal, unlock, information change).

It lists the keys plugged in (with the certificates anyone can read on them), pairs with one page of
the public form by the one-time code that page shows, then polls the back office and does the tasks
it hands out (protocol.helper: key login, renewal, unlock) until the back office says the session is
over. Like the station agent it only calls out; nothing listens on the PC.

Options (each also read from the environment):

    --url     UKEY_HELPER_URL        the back office (default http://127.0.0.1:5000)
    --code    UKEY_HELPER_CODE       the pairing code the page shows (asked for when missing)
    --module  PKCS11_MODULE          the key's PKCS#11 module (default SoftHSM2's; a UKEY vendor's
                                     .so drops in)
    --wait    UKEY_HELPER_POLL_WAIT  seconds a poll may be held (default 5)

Key passwords are read by PinPrompt: without echo when stdin is a terminal, else one line of stdin
per prompt (scripts and tests pipe them); they are never printed nor logged, and the right one is
held in memory for this session only. One plain line per step is printed.

Exit status: 0 the session is over (or there was nothing to do), 2 the PKCS#11 module cannot be
loaded or no pairing code was given, 3 the pairing code was refused (wrong, used or expired), 4 the
back office ended the session while the helper was working (401), 130 stopped by Ctrl-C or SIGTERM
(a task running is reported `cancelled` first, if the back office answers within seconds).
"""
from __future__ import annotations

import argparse
import getpass
import os
import signal
import sys
import time
from importlib import metadata

from agent import renewing, unlocking
from agent.backoffice import BackOfficeError, Refused, SessionOver
from agent.helper_client import HelperClient
from agent.programming import Failed, Outcome
from agent.renewing import HelperRun, KeyPasswords
from agent.tokens import SOFTHSM2_MODULE, Station, TokenError
from protocol.helper import (
    FAILURES,
    USER_PIN_MAX,
    USER_PIN_MIN,
    CertificateAnswer,
    CertificateRequest,
    FinishRequest,
    HelperFailure,
    HelperReport,
    HelperStep,
    KeyOnPc,
    LoginProof,
    Task,
    TaskKind,
    UnlockDone,
)

DEFAULT_URL = "http://127.0.0.1:5000"
DEFAULT_WAIT = 5.0
EXIT_OVER, EXIT_SETUP, EXIT_CODE_REFUSED, EXIT_SESSION_LOST, EXIT_STOPPED = 0, 2, 3, 4, 130

STEP_LINES = {
    HelperStep.LOGGED_IN: "the key password opened the key",
    HelperStep.KEY_GENERATED: "a new key pair was made on the key",
    HelperStep.REQUEST_SIGNED: "the certificate request was signed on the key",
    HelperStep.CERTIFICATE_ISSUED: "the back office issued the new certificate",
    HelperStep.CERTIFICATE_WRITTEN: "the new certificate was written to the key",
    HelperStep.CHAIN_WRITTEN: "the CA certificates were written to the key",
    HelperStep.VERIFIED: "the new certificate and key pair were checked",
    HelperStep.OLD_KEY_DELETED: "the old key pair and certificate were deleted",
    HelperStep.USER_PIN_RESET: "the new key password was set",
    HelperStep.SO_PIN_ROTATED: "the key's administrator PIN was changed",
}


def say(line: str) -> None:
    print(line, flush=True)


def version() -> str:
    try:
        return metadata.version("ukey-helper")
    except metadata.PackageNotFoundError:
        return "dev"


class PinPrompt:
    """Reads a key password: getpass (no echo) when stdin is a terminal, else one line of stdin per
    prompt (the prompt is printed, the line read never is). EOFError when stdin has no more lines."""

    def __init__(self, stdin=None):
        self.stdin = stdin

    def __call__(self, prompt: str) -> str:
        stdin = self.stdin or sys.stdin
        if stdin.isatty():
            return getpass.getpass(prompt)
        say(prompt.rstrip())
        line = stdin.readline()
        if not line:
            raise EOFError("no key password to read")
        return line.rstrip("\r\n")


def new_key_password(ask) -> str:
    """The new key password, typed twice, USER_PIN_MIN to USER_PIN_MAX characters; asked again until so."""
    while True:
        first = ask(f"New key password ({USER_PIN_MIN}-{USER_PIN_MAX} characters): ")
        if not USER_PIN_MIN <= len(first) <= USER_PIN_MAX:
            say(f"The key password must have {USER_PIN_MIN} to {USER_PIN_MAX} characters: type another.")
            continue
        if ask("The new key password again: ") != first:
            say("The two key passwords differ: type them again.")
            continue
        return first


class Console:
    """The back office as the task runs see it: the client, with one line printed per step."""

    def __init__(self, client: HelperClient):
        self.client = client

    def step(self, task_id: str, report: HelperReport) -> None:
        self.client.step(task_id, report)
        again = " (done before)" if report.detail.get("skipped") else ""
        say(f"{report.step}: {STEP_LINES.get(report.step, '')}{again}")

    def login(self, task_id: str, proof: LoginProof) -> None:
        self.client.login(task_id, proof)
        say(f"{HelperStep.LOGGED_IN}: the key login was accepted")

    def certificate(self, task_id: str, request: CertificateRequest) -> CertificateAnswer:
        return self.client.certificate(task_id, request)

    def finish(self, task_id: str, request: FinishRequest) -> None:
        self.client.finish(task_id, request)

    def unlocked(self, task_id: str, done: UnlockDone) -> None:
        self.client.unlocked(task_id, done)
        say("unlocked: the key is unlocked; use the new key password from now on")

    def failure(self, task_id: str, failure: HelperFailure) -> None:
        self.client.failure(task_id, failure)  # HelperRun said it already


def arguments(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="ukey-helper", description="The key helper: renews, unlocks and changes "
                                     "the certificate on your USB key with the page of the public form.")
    parser.add_argument("--url", default=env("UKEY_HELPER_URL", DEFAULT_URL))
    parser.add_argument("--code", default=env("UKEY_HELPER_CODE"), help="the pairing code the page shows")
    parser.add_argument("--module", default=env("PKCS11_MODULE", SOFTHSM2_MODULE))
    parser.add_argument("--wait", type=float, default=float(env("UKEY_HELPER_POLL_WAIT", DEFAULT_WAIT)))
    return parser.parse_args(argv)


def describe(keys: list[KeyOnPc]) -> str:
    return "keys: " + (", ".join(f"{key.serial} ({key.label or 'no label'}, {len(key.certificates)} certificate(s)"
                                  f"{', locked' if key.user_pin_locked else ''})" for key in keys) or "none")


def _stop(_signum, _frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    try:
        station = Station(args.module)
        keys = station.keys_on_pc()
    except TokenError as exc:
        say(str(exc))
        return EXIT_SETUP
    say(f"ukey-helper {version()}: {args.url}, module {args.module}")
    say(describe(keys))
    code = args.code
    if not code:
        try:
            code = input("Pairing code shown on the page: ")
        except EOFError:
            code = ""
    code = "".join(code.split())
    if not code:
        say("No pairing code: start the helper again with the code the page shows.")
        return EXIT_SETUP
    signal.signal(signal.SIGTERM, _stop)
    client = HelperClient(args.url, log=say)
    session = _Session(station, client)
    try:
        try:
            paired = client.pair(code, keys, version())
        except (Refused, SessionOver) as exc:
            say(f"The pairing code was refused ({exc}): it is wrong, used or expired. "
                "Get a new code from the page and start the helper again.")
            return EXIT_CODE_REFUSED
        say(f"paired with the page ({paired.purpose})")
        return session.loop(args.wait)
    except SessionOver as exc:
        say(f"{exc}: the helper stops.")
        return EXIT_SESSION_LOST
    except KeyboardInterrupt:
        session.cancel()
        say("key helper stopped")
        return EXIT_STOPPED
    finally:
        client.close()


class _Session:
    """The paired helper: poll, do the task, poll again, until the session is over."""

    def __init__(self, station: Station, client: HelperClient):
        self.station, self.client, self.console = station, client, Console(client)
        self.prompt = PinPrompt()
        self.passwords = KeyPasswords(self.prompt)
        self.running: Task | None = None

    def loop(self, wait: float) -> int:
        seen = None
        while True:
            try:
                self.station.refresh()  # no task runs now: the module sees the keys plugged in since
                keys = self.station.keys_on_pc()
            except TokenError as exc:
                say(f"cannot list the keys: {exc}")
                time.sleep(wait)
                continue
            if keys != seen and seen is not None:
                say(describe(keys))
            seen = keys
            started = time.monotonic()
            try:
                answer = self.client.poll(keys, wait=wait)
            except SessionOver:
                raise
            except BackOfficeError as exc:
                say(f"the poll was refused: {exc}")
                time.sleep(wait)
                continue
            if answer.over:
                say(answer.message or "The session is over.")
                return EXIT_OVER
            if answer.task is None:
                if time.monotonic() - started < 1:
                    time.sleep(1)  # a back office that answers at once is not asked in a tight loop
                continue
            self.running = answer.task
            outcome = self.run(answer.task)
            self.running = None
            say(f"{answer.task.kind}: {outcome}")

    def run(self, task: Task) -> Outcome:
        say(f"{task.kind}: key {_serial(task)}")
        if task.kind is TaskKind.LOGIN:
            return renewing.login(task, self.station, self.console, self.passwords, log=say)
        if task.kind is TaskKind.RENEW:
            return renewing.run(task, self.station, self.console, self.passwords, log=say)
        try:
            user_pin = new_key_password(self.prompt)
        except EOFError:
            return HelperRun(task.task_id, self.console, say).fail(Failed("cancelled", "no new key password was typed"))
        return unlocking.run_helper(task, self.station, self.console, user_pin, passwords=self.passwords, log=say)

    def cancel(self) -> None:
        """Ctrl-C or SIGTERM: the task running reported cancelled (tried once)."""
        if self.running is not None:
            self.client.failure_once(self.running.task_id,
                                     HelperFailure(error="cancelled", message=FAILURES["cancelled"]))


def _serial(task: Task) -> str:
    order = task.login or task.renew or task.unlock
    return order.media_serial if order else "?"


if __name__ == "__main__":
    sys.exit(main())
