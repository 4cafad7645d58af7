"""The signing service's process dropped in the middle of issuing: it has signed the key's
certificate and written it to the register, and dies (SIGKILL) before its answer reaches the back
office. The agent is told the service cannot be reached (503 signing_unavailable), the job stands
interrupted with that message on the station staff's job page, the order is not programmed. The
staff resume the job: the agent's request gets the certificate already in the register (the
service need not be back for it), the key is programmed; one certificate row, never a second. The
service, started again and asked again under the job's ID, answers that same certificate.

(The service down before the call, the real agent on SoftHSM2 waiting through it, is
tests/station/test_programming.py::test_the_signing_service_killed_interrupts_the_job_until_it_is_back.)
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from sqlalchemy import func, select

from issuance.client import HttpSigningService
from issuance.interfaces import SigningService
from models import Certificate, JobStatus, OrderStatus, ProgrammingJob, Token
from protocol import station as protocol
from tests.station.conftest import (  # noqa: F401  (fixtures)
    approved,
    client,
    committed,
    fulfillment,
    order_of,
    station_app,
    station_credential,
)
from tests.station.fake_agent import FakeAgent
from tests.station.live import free_port, wait_for
from tests.station.test_api import blank, serial, start
from web.services import service_replaced

ROOT = Path(__file__).resolve().parents[2]


class DroppingProxy:
    """127.0.0.1 in front of the signing service, passing calls through; when armed, the first
    answer the service starts to send is never passed on: `on_answer` runs (the service is killed)
    and the caller's connection is closed, as a process dying after its commit leaves it."""

    def __init__(self, upstream_port: int, on_answer: Callable[[], None]):
        self.upstream_port, self.on_answer = upstream_port, on_answer
        self.armed, self.dropped = False, threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                caller, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(caller,), daemon=True).start()

    def _relay(self, caller: socket.socket) -> None:
        with caller:
            try:
                service = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
            except OSError:
                return  # nothing listens: the caller's connection is closed
            with service:
                threading.Thread(target=_pump, args=(caller, service), daemon=True).start()
                while data := _receive(service):
                    if self.armed:
                        self.armed = False
                        self.on_answer()
                        self.dropped.set()
                        break
                    caller.sendall(data)
                for end in (caller, service):  # wakes the pump, and the caller sees the connection end
                    _shut(end)

    def close(self) -> None:
        self.listener.close()


def _receive(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _pump(source: socket.socket, target: socket.socket) -> None:
    while data := _receive(source):
        try:
            target.sendall(data)
        except OSError:
            return


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_the_signing_service_dropped_after_signing_leaves_one_certificate_and_a_resumable_job(
        station_app, client, committed, fulfillment, approved, station_credential, tmp_path):  # noqa: F811
    config = station_app.config
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")},
           "BACKOFFICE_INSTANCE": str(tmp_path / "instance"), "APP_ENV": "test",
           "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"], "BACKOFFICE_CA_SIGNER": "keyfile",
           **{f"BACKOFFICE_{name}": config[name] for name in (
               "CA_KEY_FOLDER", "CA_PUBLIC_URL", "SIGNING_SERVICE_KEY", "SECRET_KEY", "FIELD_ENCRYPTION_KEY",
               "LOOKUP_KEY", "AUDIT_SEAL_KEY", "AUDIT_ANCHOR_PATH")}}
    processes: list[subprocess.Popen] = []

    def signing_service() -> None:
        process = subprocess.Popen([str(Path(sys.executable).parent / "flask"), "--app", "signing_wsgi", "run",
                                    "--port", str(port)], env=env, cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(process)
        wait_for(lambda: _listening(port) or process.poll() is not None, what="the signing service to listen")
        assert process.poll() is None, "the signing service did not start"

    def kill_service() -> None:
        processes[-1].send_signal(signal.SIGKILL)
        processes[-1].wait(timeout=10)

    def certificates() -> int:
        return committed(lambda session: session.scalar(select(func.count()).select_from(Certificate)))

    proxy = DroppingProxy(port, kill_service)
    signing_service()
    try:
        with service_replaced(station_app, SigningService,
                              HttpSigningService(proxy.url, config["SIGNING_SERVICE_KEY"])):
            name, credential = station_credential
            key = serial()
            agent = FakeAgent(client, credential, [blank(key)])
            agent.poll()
            number = approved()
            public_id = start(client, committed, name, number, key)
            job = agent.job()
            for step in protocol.STEPS[1:8]:
                assert agent.step(job, step).status_code == 200
            before = certificates()

            proxy.armed = True
            request = agent.csr(job)
            dropped = agent.post(f"/jobs/{job.job_id}/certificate", {"csr_pem": request})
            assert proxy.dropped.is_set() and processes[-1].poll() is not None, "the service was not dropped"
            assert dropped.status_code == 503, dropped.get_data(as_text=True)
            assert dropped.get_json()["error"] == "signing_unavailable"
            assert certificates() == before + 1, "the service signed and registered the certificate before dying"

            def interrupted(session):
                programming = session.scalars(select(ProgrammingJob).where(
                    ProgrammingJob.public_id == public_id)).one()
                return programming.status, programming.interruption, programming.signing_job_id
            status, interruption, signing_job_id = committed(interrupted)
            assert (status, interruption) == (JobStatus.INTERRUPTED, "signing_unavailable")
            assert committed(lambda session: order_of(session, number).status) is not OrderStatus.PROGRAMMED
            page = client.get(f"/console/station/jobs/{public_id}").get_data(as_text=True)
            assert protocol.FAILURES["signing_unavailable"] in page

            assert client.post(f"/console/station/jobs/{public_id}/resume").status_code == 302
            again = agent.job()
            assert again.job_id == public_id and again.resume
            issued = agent.certificate(again)
            assert issued.status_code == 200, issued.get_data(as_text=True)
            pem = issued.get_json()["certificate_pem"]
            assert agent.finish(again, pem).status_code == 200
            assert certificates() == before + 1

            signing_service()  # back: the same job asked again is the same certificate, not a second
            asked_again = HttpSigningService(proxy.url, config["SIGNING_SERVICE_KEY"]).issue(
                signing_job_id, number, request)
            assert asked_again.certificate_pem.strip() == pem.strip()
    finally:
        proxy.close()
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)

    assert certificates() == before + 1

    def programmed(session):
        order = order_of(session, number)
        [certificate] = session.scalars(select(Certificate).where(Certificate.order_id == order.id)).all()
        token = session.scalars(select(Token).where(Token.serial == key)).one()
        return order.status, certificate.serial_number, certificate.media_serial, token.order_id == order.id
    status, serial_number, media_serial, token_is_the_orders = committed(programmed)
    assert (status, media_serial, token_is_the_orders) == (OrderStatus.PROGRAMMED, key, True)
    assert int(serial_number, 16) == x509.load_pem_x509_certificate(pem.encode()).serial_number
