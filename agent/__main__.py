"""`python -m agent`: the station agent's loop. Poll the back office with the keys plugged in, run the
job it hands out (or wipe the returned key it names), repeat; one line per step on stdout (honcho
shows it).

Options (each also read from the environment):

    --url              STATION_AGENT_URL              the back office (default http://127.0.0.1:5000)
    --credential-file  STATION_AGENT_CREDENTIAL_FILE  a file holding the station credential
                                                      (default instance/station-agent.credential)
    --module           PKCS11_MODULE                  the keys' PKCS#11 module (default SoftHSM2's)
    --wait             STATION_AGENT_POLL_WAIT        seconds a poll may be held (default 5): the
                                                      keys listed are those of the last poll, so a
                                                      key plugged in shows within this time

The first poll names no running job: that is how the back office learns that a job an earlier run
of the agent had was cut off. Between jobs the PKCS#11 module is re-initialised before each poll,
which is when it sees keys plugged in since (agent.tokens). Ctrl-C and SIGTERM stop the agent (a
job it was running is resumed by the next start). A credential the back office refuses (401:
rotated or revoked) stops it with a message and exit status 3.

Test-only fault injection: `STATION_AGENT_HOLD_AFTER=<step>` (a protocol.station.Step value, e.g.
`key_generated`) makes the agent send its reports synchronously once it has done that step (for
`verified`: once `finish` was answered) and then block for ever, so a test can SIGKILL it at a
known point. Unset, nothing of it runs.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from agent import programming, unlocking, wiping
from agent.backoffice import BackOfficeError, CredentialRefused
from agent.client import Client
from agent.tokens import SOFTHSM2_MODULE, Station, TokenError
from protocol.station import (
    CertificateAnswer,
    CertificateRequest,
    FailureReport,
    FinishRequest,
    Step,
    StepReport,
    UnlockDone,
    WipeDone,
)

DEFAULT_URL = "http://127.0.0.1:5000"
DEFAULT_CREDENTIAL_FILE = "instance/station-agent.credential"
DEFAULT_WAIT = 5.0
HOLD_AFTER = "STATION_AGENT_HOLD_AFTER"


def say(line: str) -> None:
    print(line, flush=True)


class Console:
    """The back office as a job run sees it: the client, with each step printed, and the test hook."""

    def __init__(self, client: Client, hold_after: Step | None = None):
        self.client, self.hold_after = client, hold_after

    def _done(self, step: Step) -> None:
        if step == self.hold_after:
            # Said before the reports go: once the back office has the step, the line is out too
            # (a test kills the agent as soon as the step arrives).
            say(f"holding after {step} ({HOLD_AFTER})")
            self.client.flush()
            while True:
                time.sleep(3600)

    def step(self, job_id: str, report: StepReport) -> None:
        detail = " ".join(f"{key}={value}" for key, value in report.detail.items())
        wrong = f" wrong PINs: {len(report.wrong_pins)}" if report.wrong_pins else ""
        self.client.step(job_id, report)
        say(f"job {job_id}: {report.step} {detail}{wrong}".rstrip())
        self._done(report.step)

    def certificate(self, job_id: str, request: CertificateRequest) -> CertificateAnswer:
        return self.client.certificate(job_id, request)

    def finish(self, job_id: str, request: FinishRequest) -> None:
        self.client.finish(job_id, request)
        self._done(Step.VERIFIED)

    def failure(self, job_id: str, report: FailureReport) -> None:
        self.client.failure(job_id, report)

    def wiped(self, wipe_id: str, done: WipeDone) -> None:
        self.client.wiped(wipe_id, done)

    def wipe_failed(self, wipe_id: str, report: FailureReport) -> None:
        self.client.wipe_failed(wipe_id, report)

    def unlocked(self, unlock_id: str, done: UnlockDone) -> None:
        self.client.unlocked(unlock_id, done)

    def unlock_failed(self, unlock_id: str, report: FailureReport) -> None:
        self.client.unlock_failed(unlock_id, report)


def arguments(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m agent", description="The station agent: programs USB keys.")
    parser.add_argument("--url", default=env("STATION_AGENT_URL", DEFAULT_URL))
    parser.add_argument("--credential-file", default=env("STATION_AGENT_CREDENTIAL_FILE", DEFAULT_CREDENTIAL_FILE))
    parser.add_argument("--module", default=env("PKCS11_MODULE", SOFTHSM2_MODULE))
    parser.add_argument("--wait", type=float, default=float(env("STATION_AGENT_POLL_WAIT", DEFAULT_WAIT)))
    return parser.parse_args(argv)


def _stop(_signum, _frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    hold = os.environ.get(HOLD_AFTER)
    hold_after = Step(hold) if hold else None
    try:
        credential = Path(args.credential_file).read_text().strip()
    except OSError as exc:
        say(f"cannot read the station credential from {args.credential_file}: {exc.strerror}")
        return 2
    if not credential:
        say(f"{args.credential_file} is empty: it must hold the station credential")
        return 2
    try:
        station = Station(args.module)
    except TokenError as exc:
        say(str(exc))
        return 2
    signal.signal(signal.SIGTERM, _stop)
    client = Client(args.url, credential, log=say)
    say(f"station agent: {args.url}, module {args.module}")
    try:
        loop(station, client, Console(client, hold_after), wait=args.wait)
    except CredentialRefused as exc:
        say(f"{exc}: the agent stops. Put the station's new credential in {args.credential_file} and start it again.")
        return 3
    except KeyboardInterrupt:
        say("station agent stopped")
        return 0
    finally:
        client.close()
    return 0


def loop(station: Station, client: Client, console: Console, *, wait: float) -> None:
    """Poll, run the job (or the wipe, or the unlock) handed out, poll again; for ever."""
    seen = None
    while True:
        try:
            station.refresh()  # no job runs now: the module sees the keys plugged in since
            tokens = station.present()
        except TokenError as exc:
            say(f"cannot list the keys: {exc}")
            time.sleep(wait)
            continue
        if seen != tokens:
            say("keys: " + (", ".join(f"{t.serial} ({t.label or 'no label'}{', blank' if t.blank else ''})"
                                      for t in tokens) or "none"))
            seen = tokens
        started = time.monotonic()
        try:
            polled = client.poll(tokens, running_job=None, wait=wait)
        except CredentialRefused:
            raise
        except BackOfficeError as exc:
            say(f"the poll was refused: {exc}")
            time.sleep(wait)
            continue
        if polled.wipe is not None:
            wipe = polled.wipe
            say(f"wipe {wipe.wipe_id}: key {wipe.media_serial}")
            say(f"wipe {wipe.wipe_id}: {wiping.run(wipe, station, console, log=say)}")
            continue
        if polled.unlock is not None:
            unlock = polled.unlock
            say(f"unlock {unlock.unlock_id}: key {unlock.media_serial}")
            say(f"unlock {unlock.unlock_id}: {unlocking.run(unlock, station, console, log=say)}")
            continue
        if polled.job is None:
            if time.monotonic() - started < 1:
                time.sleep(1)  # a back office that answers at once is not asked in a tight loop
            continue
        job = polled.job
        say(f"job {job.job_id}: order {job.order_number}, key {job.media_serial}"
            f"{' (resumed)' if job.resume else ''}{' (wipe)' if job.wipe else ''}")
        outcome = programming.run(job, station, console, log=say)
        say(f"job {job.job_id}: {outcome}")


if __name__ == "__main__":
    sys.exit(main())
