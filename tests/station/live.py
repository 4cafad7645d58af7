"""The back office served over HTTP from a thread, and the real station agent (`python -m agent`) run
as a subprocess against it on a SoftHSM2 token store of the test's own: what
tests/station/test_programming.py drives end to end."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pkcs11
import pytest

from tests.serving import served
from tests.softhsm import MODULE, token_store

ROOT = Path(__file__).resolve().parents[2]
TRANSPORT_SO_PIN = "12345678"  # the app's STATION_TRANSPORT_SO_PIN


def wait_for(condition, timeout: float = 20, what: str = "the condition"):
    """condition()'s first true value, polled every 50 ms; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class AgentProcess:
    process: subprocess.Popen
    lines: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.reader.join(timeout=5)
        _outlive_its_poll()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.reader.join(timeout=5)
        _outlive_its_poll()
        return self.process.returncode


def _outlive_its_poll() -> None:
    """The back office goes on serving a poll whose agent is gone until the poll's wait is over
    (--wait 0.2), and would hand such a poll a job queued meanwhile: the job then runs nowhere until
    the next agent's poll finds it cut off. Tests that queue a job right after stopping an agent
    let that poll end first."""
    time.sleep(0.4)


class Agents:
    """Starts `python -m agent` against the live back office with the test's token store; every
    agent started is killed at teardown."""

    def __init__(self, url: str, credential_file: Path, softhsm_conf: Path):
        self.url, self.credential_file, self.softhsm_conf = url, credential_file, softhsm_conf
        self.started: list[AgentProcess] = []

    def start(self, hold_after: str | None = None) -> AgentProcess:
        env = {**os.environ, "SOFTHSM2_CONF": str(self.softhsm_conf)}
        env.pop("STATION_AGENT_HOLD_AFTER", None)
        if hold_after:
            env["STATION_AGENT_HOLD_AFTER"] = hold_after
        process = subprocess.Popen(
            [sys.executable, "-m", "agent", "--url", self.url, "--credential-file", str(self.credential_file),
             "--module", MODULE, "--wait", "0.2"],
            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        agent = AgentProcess(process)
        self.started.append(agent)
        return agent

    def kill_all(self) -> None:
        for agent in self.started:
            agent.kill()


@pytest.fixture(scope="session")
def live_url(station_app):
    """station_app over HTTP on 127.0.0.1, served from a thread for the whole run."""
    with served(station_app) as url:
        yield url


@dataclass
class Station:
    """The test's station: its name, a token store of its own, and its agents."""

    name: str
    hsm: object  # tests.softhsm.SoftHsm
    folder: Path  # the store's tokens folder
    agents: Agents

    def blank_key(self, label: str) -> str:
        """A blank key (the transport SO PIN, no objects); its label (the serial is learnt from a poll)."""
        return self.hsm.init_token(label, pin="transport-user", so_pin=TRANSPORT_SO_PIN)


@pytest.fixture
def live_station(live_url, station_credential, tmp_path):
    """A station whose agents (started by the test) reach the live back office, with its own token store."""
    name, credential = station_credential
    credential_file = tmp_path / "station-agent.credential"
    credential_file.write_text(credential + "\n")
    with token_store(tmp_path / "softhsm") as hsm:
        agents = Agents(live_url, credential_file, hsm.conf)
        try:
            yield Station(name=name, hsm=hsm, folder=tmp_path / "softhsm" / "tokens", agents=agents)
        finally:
            agents.kill_all()
            pkcs11.lib(MODULE).reinitialize()  # closes what the test opened on this store
    pkcs11.lib(MODULE).reinitialize()  # back to the store the environment names now
