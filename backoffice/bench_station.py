"""`flask --app wsgi bench station --keys N`: the station agent programming keys end to end against the
bare token operations it is made of.

Everything is throw-away, in a temporary folder: a migrated SQLite database with the demo catalogue
(and a copy of its product whose profile asks for RSA-2048 first), a key-file CA from a ceremony, a
station with a credential, approved paid orders; the back office and the signing service served on
loopback from threads of this process; `python -m agent` as a real subprocess over HTTP; SoftHSM2
tokens made with softhsm2-util in token stores of the bench's own (SOFTHSM2_CONF set here).

The station programs N keys, alternating RSA-2048 and P-256 (the first of each kind is a warm-up,
not counted). Station time per key is the back office's own: the job's `finished_at - started_at`
(from the staff's start to the certificate verified on the key), so the bench's polling of the
database does not count. After each job, on a fresh blank key of the same kind, the bare token
operations the job is made of are timed in this process with agent.tokens (C_InitToken with the
transport SO PIN, SO PIN change, user PIN, key generation, one signature: the request, certificate
write). Printed per key type: median station and bare ms, the per-step medians of the station
(from the `programming_step` rows), and the median of the per-key ratios.

The agent's tokens and the bare side's are in two stores: an agent lists every key of its store in
each poll, and the protocol takes at most 64 (so N is at most 60 here).
"""
from __future__ import annotations

import base64
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import click
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from agent.tokens import SOFTHSM2_MODULE
from agent.tokens import Station as Tokens
from backoffice import create_app, demo
from backoffice.config import ROOT
from issuance import ceremony, store
from issuance.settings import CaSettings
from issuance.signing_app import create_signing_app
from models import (
    CertificateProfile,
    Channel,
    JobStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    Price,
    Product,
    ProgrammingJob,
    ProgrammingStep,
    Staff,
    StaffRole,
    Station,
)
from models.base import utcnow
from models.token_state import new_pin
from protocol.station import KeyType
from public import operations as public_operations
from public.openapi import APPLICATION_EXAMPLE
from public.validators import credit_code_check_char
from review import operations as review_operations
from station import credentials, jobs
from web import edge
from web.extensions import db

KINDS = {KeyType.RSA_2048: "RSA-2048", KeyType.EC_P256: "P-256"}
RSA_PRODUCT = "BENCH-RSA"  # the demo product's copy whose profile asks for RSA-2048 first
MAX_KEYS = 60  # the agent's store holds N + the warm-ups; a poll lists at most 64 keys
WARM_UP = 1  # per key type, not counted
JOB_TIMEOUT = 120  # seconds a job may take before the bench gives up
GOAL = 1.3
BARE_STEPS = ("token_initialised", "so_pin_set", "user_pin_set", "key_generated", "request_signed",
              "certificate_written")


@dataclass
class Figures:
    station_ms: list[float] = field(default_factory=list)
    bare_ms: list[float] = field(default_factory=list)
    steps_ms: dict[str, list[float]] = field(default_factory=dict)
    bare_steps_ms: dict[str, list[float]] = field(default_factory=dict)

    @property
    def ratios(self) -> list[float]:
        return [s / b for s, b in zip(self.station_ms, self.bare_ms, strict=True)]


@click.option("--keys", default=50, show_default=True, type=click.IntRange(min=2, max=MAX_KEYS),
              help="Keys the station programs (alternately RSA-2048 and P-256), as many bare.")
def bench_station(keys: int) -> None:
    """Median per-key time of the station agent programming keys end to end, and of the bare token
    operations, per key type; the median per-key ratio station/bare."""
    scratch = Path(tempfile.mkdtemp(prefix="bench-station-"))
    previous_conf = os.environ.get("SOFTHSM2_CONF")
    try:
        with ExitStack() as cleanup:
            figures = _run(scratch, keys, cleanup)
    finally:
        if previous_conf is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous_conf
        _reload_softhsm()
        shutil.rmtree(scratch, ignore_errors=True)
    _print(figures, keys)


def _reload_softhsm() -> None:
    """SoftHSM2, if this process loaded it, re-reads SOFTHSM2_CONF: the bench's store goes away."""
    if "pkcs11" in sys.modules:
        try:
            Tokens(SOFTHSM2_MODULE).refresh()
        except Exception:  # noqa: BLE001 - nothing to restore then
            pass


# --- the set-up -----------------------------------------------------------------------------------


def _config(scratch: Path) -> dict:
    """A self-contained config; the secrets are those of the app the command runs in (the field
    encryption keys are process-wide: another app's keys would replace them), else new ones."""
    def key(name: str) -> str:
        return (current_app.config.get(name) if current_app else None) or base64.b64encode(os.urandom(32)).decode()

    return {"APP_ENV": "development", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{scratch / 'bench.db'}",
            "UPLOAD_FOLDER": str(scratch / "uploads"), "AUDIT_ANCHOR_PATH": str(scratch / "audit-anchor.log"),
            "SANDBOX_PAY_LEDGER": str(scratch / "sandbox-pay.sqlite3"), "RATELIMIT_ENABLED": False,
            "SECRET_KEY": key("SECRET_KEY"), "FIELD_ENCRYPTION_KEY": key("FIELD_ENCRYPTION_KEY"),
            "LOOKUP_KEY": key("LOOKUP_KEY"), "AUDIT_SEAL_KEY": key("AUDIT_SEAL_KEY"),
            "SIGNING_SERVICE_KEY": key("SIGNING_SERVICE_KEY"), "SIGNING_SERVICE": "http",
            "CA_SIGNER": "keyfile", "CA_KEY_FOLDER": str(scratch / "ca"), "CA_PUBLIC_URL": "http://ca.example.test"}


class TokenStore:
    """A SoftHSM2 store of the bench's own: its config file and the keys made in it."""

    def __init__(self, folder: Path, transport_so_pin: str):
        (folder / "tokens").mkdir(parents=True)
        self.conf = folder / "softhsm2.conf"
        self.conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\n"
                             "log.level = ERROR\n")
        self.so_pin = transport_so_pin
        self.serials: list[str] = []

    def make_blank(self, count: int) -> None:
        """Keys as they come from the supplier: initialised with the transport SO PIN, no objects."""
        for _ in range(count):
            label = f"blank-{secrets.token_hex(4)}"
            subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", self.so_pin,
                            "--pin", secrets.token_hex(4)], check=True, capture_output=True,
                           env={**os.environ, "SOFTHSM2_CONF": str(self.conf)})
            listing = subprocess.run(["softhsm2-util", "--show-slots"], check=True, capture_output=True, text=True,
                                     env={**os.environ, "SOFTHSM2_CONF": str(self.conf)}).stdout
            self.serials.append(_serial_of(listing, label))


def _serial_of(listing: str, label: str) -> str:
    serial = None
    for line in listing.splitlines():
        line = line.strip()
        if line.startswith("Serial number:"):
            serial = line.split(":", 1)[1].strip()
        elif line.startswith("Label:") and line.split(":", 1)[1].strip() == label:
            if serial:
                return serial
    raise click.ClickException(f"softhsm2-util does not list the token {label}")


def _prepare(app, orders_per_kind: dict[KeyType, int]) -> tuple[str, dict[KeyType, list[str]]]:
    """The database: catalogue, CA, staff, station with credential, approved paid orders."""
    with app.app_context():
        upgrade()
        for _ in demo.load_catalogue(db.session):
            pass
        products = {KeyType.EC_P256: db.session.scalars(select(Product).filter_by(code="UNIT-1Y")).one()}
        if products[KeyType.EC_P256].profile.key_types.split(",")[0] != KeyType.EC_P256:
            raise click.ClickException("the demo product no longer asks for P-256 first: adjust the bench")
        products[KeyType.RSA_2048] = _rsa_product(products[KeyType.EC_P256])
        staff = {role: _staff(role) for role in (StaffRole.ADMIN, StaffRole.SENIOR_REVIEWER, StaffRole.FULFILLMENT)}
        ceremony.hold_ceremony(db.session, CaSettings.from_config(app.config),
                               [staff[StaffRole.ADMIN], staff[StaffRole.SENIOR_REVIEWER]])
        station = Station(name="bench-station")
        db.session.add(station)
        db.session.flush()
        credential = credentials.issue(db.session, station, staff[StaffRole.ADMIN])
        channel = db.session.scalars(select(Channel).filter_by(code="direct")).one()
        numbers = {kind: [_approved_order(channel, products[kind].code, n) for n in range(count)]
                   for kind, count in orders_per_kind.items()}
        edge.commit()
        return credential, numbers


def _rsa_product(template: Product) -> Product:
    profile = template.profile
    types = [t for t in profile.key_types.split(",") if t != KeyType.RSA_2048]
    copy = CertificateProfile(code="BENCH-RSA-SIGN", name=profile.name, key_types=",".join([KeyType.RSA_2048, *types]),
                              key_usage=profile.key_usage, extended_key_usage=profile.extended_key_usage,
                              policy_oid=profile.policy_oid)
    product = Product(code=RSA_PRODUCT, name=template.name, name_en=template.name_en, cert_kind=template.cert_kind,
                      validity_months=template.validity_months, profile=copy)
    db.session.add(product)
    db.session.flush()
    for price in template.prices:
        db.session.add(Price(product_id=product.id, channel_id=price.channel_id, business_type=price.business_type,
                             amount_cents=price.amount_cents))
    db.session.flush()
    return product


def _staff(role: StaffRole) -> Staff:
    member = Staff(username=f"bench-{role.value}", display_name=f"Bench {role.value}", role=role,
                   password_hash="!", email=f"bench-{role.value}@ca.example.cn")
    db.session.add(member)
    db.session.flush()
    return member


_serials = iter(range(1, 10**6))


def _approved_order(channel: Channel, product: str, _n: int) -> str:
    """An order approved by review and paid (no materials: nothing here looks at them)."""
    serial = next(_serials)
    body = f"91410100MB{serial:07d}"
    code = body + credit_code_check_char(body)
    data = {**APPLICATION_EXAMPLE, "product": product, "credit_code": code, "invoice_taxpayer_id": code,
            "legal_rep_phone": f"138{serial:08d}", "agent_phone": f"139{serial:08d}"}
    order = public_operations.submit_application(db.session, channel, data, actor="applicant:bench",
                                                 applicant_secret=None)
    for status in (OrderStatus.AWAITING_SIGNATURE, OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID):
        order.move_to(status, "applicant:bench")
    paid_at = utcnow()
    review_operations.enqueue_paid_order(db.session, order, paid_at)
    db.session.add(Payment(order_id=order.id, provider="sandbox", out_trade_no=order.number,
                           amount_cents=order.price_cents, status=PaymentStatus.PAID,
                           trade_no=f"2088{order.number}", created_at=paid_at, paid_at=paid_at))
    order.move_to(OrderStatus.IN_REVIEW, "staff:bench")
    order.queue = None
    order.move_to(OrderStatus.APPROVED, "staff:bench")
    order.certificate_password = new_pin()
    db.session.flush()
    return order.number


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # a line per request would drown the figures
        pass


def _serve(app, cleanup: ExitStack) -> str:
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def stop():
        server.shutdown()
        thread.join()

    cleanup.callback(stop)
    return f"http://127.0.0.1:{server.server_port}"


def _start_agent(url: str, credential_file: Path, conf: Path, log: Path, cleanup: ExitStack) -> subprocess.Popen:
    output = log.open("w")
    agent = subprocess.Popen([sys.executable, "-m", "agent", "--url", url, "--credential-file", str(credential_file),
                              "--module", SOFTHSM2_MODULE, "--wait", "5"],
                             env={**os.environ, "SOFTHSM2_CONF": str(conf)}, stdout=output,
                             stderr=subprocess.STDOUT, cwd=str(ROOT))

    def stop():
        if agent.poll() is None:
            agent.terminate()
            try:
                agent.wait(timeout=10)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait()
        output.close()

    cleanup.callback(stop)
    return agent


def _wait_for(condition, what: str, agent: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if agent.poll() is not None:
            raise click.ClickException(f"the agent stopped ({agent.returncode}) while {what}:\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise click.ClickException(f"timed out {what}:\n{_tail(log)}")
        time.sleep(0.1)  # the job times are the back office's own: checking often only slows it


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text().splitlines()[-lines:])
    except OSError:
        return ""


# --- the run --------------------------------------------------------------------------------------


def _run(scratch: Path, keys: int, cleanup: ExitStack) -> dict[KeyType, Figures]:
    app = create_app(_config(scratch))
    cleanup.callback(lambda: _dispose(app))
    transport = app.config["STATION_TRANSPORT_SO_PIN"]
    counted = {KeyType.RSA_2048: (keys + 1) // 2, KeyType.EC_P256: keys // 2}
    per_kind = {kind: count + WARM_UP for kind, count in counted.items()}
    total = sum(per_kind.values())

    click.echo(f"preparing: database, CA, {total} orders, {2 * total} blank keys ...")
    credential, numbers = _prepare(app, per_kind)
    agent_store = TokenStore(scratch / "agent-store", transport)
    bare_store = TokenStore(scratch / "bare-store", transport)
    agent_store.make_blank(total)
    bare_store.make_blank(total)

    sessions = store.make_sessions(app.config)
    cleanup.callback(lambda: sessions.kw["bind"].dispose())
    app.config["SIGNING_SERVICE_URL"] = _serve(create_signing_app(app.config, sessions), cleanup)
    url = _serve(app, cleanup)
    credential_file = scratch / "station-agent.credential"
    credential_file.write_text(credential + "\n")
    log = scratch / "agent.log"
    agent = _start_agent(url, credential_file, agent_store.conf, log, cleanup)

    # The bare side loads SoftHSM2 in this process, on its own store.
    os.environ["SOFTHSM2_CONF"] = str(bare_store.conf)
    tokens = Tokens(SOFTHSM2_MODULE)
    tokens.refresh()  # the module may have been loaded before with another store

    with app.app_context():
        def all_seen() -> bool:
            db.session.rollback()
            seen = {t["serial"] for t in db.session.scalars(select(Station)).one().tokens_seen or []}
            return set(agent_store.serials) <= seen

        _wait_for(all_seen, "waiting for the agent to list its keys", agent, log, 60)
        fulfillment = db.session.scalars(select(Staff).filter_by(role=StaffRole.FULFILLMENT)).one()
        figures = {kind: Figures() for kind in KINDS}
        order = [kind for i in range(max(per_kind.values())) for kind in KINDS if i < per_kind[kind]]
        station_keys, bare_keys = iter(agent_store.serials), iter(bare_store.serials)
        done = {kind: 0 for kind in KINDS}
        for kind in order:
            number = numbers[kind][done[kind]]
            counts = done[kind] >= WARM_UP
            done[kind] += 1
            station_ms, steps, certificate = _station_job(number, next(station_keys), fulfillment, agent, log)
            bare_ms, bare_steps = _bare(tokens, next(bare_keys), kind, transport, certificate)
            if counts:
                figures[kind].station_ms.append(station_ms)
                figures[kind].bare_ms.append(bare_ms)
                for name, ms in steps.items():
                    figures[kind].steps_ms.setdefault(name, []).append(ms)
                for name, ms in bare_steps.items():
                    figures[kind].bare_steps_ms.setdefault(name, []).append(ms)
            if sum(done.values()) % 10 == 0:
                click.echo(f"  {sum(done.values())} of {total} keys")
    return figures


def _dispose(app) -> None:
    with app.app_context():
        db.engine.dispose()


def _station_job(number: str, serial: str, staff: Staff, agent, log: Path) -> tuple[float, dict[str, float], bytes]:
    """Start the order's job on the key (staff's claim and start, committed: the agent's long poll
    wakes at once); wait until it is done. The job's own timestamps, in ms, per step too."""
    db.session.rollback()
    order = db.session.scalars(select(Order).where(Order.number == number)).one()
    station = db.session.scalars(select(Station)).one()
    staff = db.session.merge(staff)
    job = jobs.claim(db.session, order, staff)
    jobs.start(db.session, job, station, serial, staff)
    job_id = job.id
    edge.commit()

    def finished() -> bool:
        db.session.rollback()
        status = db.session.scalar(select(ProgrammingJob.status).where(ProgrammingJob.id == job_id))
        if status is JobStatus.INTERRUPTED:
            found = db.session.get(ProgrammingJob, job_id)
            raise click.ClickException(f"job {found.public_id} was interrupted: {found.interruption} "
                                       f"{found.interruption_message}\n{_tail(log)}")
        return status is JobStatus.DONE

    _wait_for(finished, f"waiting for the job of order {number}", agent, log, JOB_TIMEOUT)
    job = db.session.get(ProgrammingJob, job_id)
    total_ms = (job.finished_at - job.started_at).total_seconds() * 1000
    steps, before = {}, job.started_at
    for row in db.session.scalars(select(ProgrammingStep).where(ProgrammingStep.job_id == job_id)
                                  .order_by(ProgrammingStep.id)):
        steps[row.step] = steps.get(row.step, 0.0) + (row.at - before).total_seconds() * 1000
        before = row.at
    steps["(finish to done)"] = (job.finished_at - before).total_seconds() * 1000
    certificate = jobs.attempt_certificate(db.session, job).der
    db.session.rollback()
    return total_ms, steps, certificate


def _bare(tokens: Tokens, serial: str, kind: KeyType, transport: str, certificate: bytes
          ) -> tuple[float, dict[str, float]]:
    """The token operations of a job, by themselves, on a blank key; ms in all and per operation."""
    so_pin, user_pin, key_id = secrets.token_hex(8), new_pin(), os.urandom(8)
    label = f"bench-{serial}"
    steps = {}
    started = mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        steps[name] = (now - mark) * 1000
        mark = now

    tokens.init_token(serial, transport, label)
    lap("token_initialised")
    tokens.set_so_pin(serial, transport, so_pin)
    lap("so_pin_set")
    tokens.init_user_pin(serial, so_pin, user_pin)
    lap("user_pin_set")
    with tokens.user_session(serial, user_pin) as key:
        key.generate(kind, key_id, label)
        lap("key_generated")
        key.certification_request(key_id, [("2.5.4.3", label)])
        lap("request_signed")
        key.write_certificate(certificate, key_id, label)
        lap("certificate_written")
    return (time.perf_counter() - started) * 1000, steps


# --- the figures ----------------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _print(figures: dict[KeyType, Figures], keys: int) -> None:
    click.echo(f"{keys} keys programmed by the station agent (alternately RSA-2048 and P-256, {WARM_UP} warm-up "
               f"of each not counted), each followed by the bare token operations on a fresh blank key")
    for kind, name in KINDS.items():
        result = figures[kind]
        click.echo(f"{name}: {len(result.station_ms)} keys; station median {_median(result.station_ms):8.1f} ms, "
                   f"bare median {_median(result.bare_ms):8.1f} ms")
        click.echo("  station steps (median ms from the step before; the first from the start):")
        for step, values in result.steps_ms.items():
            click.echo(f"    {step:<22}{_median(values):8.1f}")
        click.echo("  bare operations (median ms):")
        for step in BARE_STEPS:
            click.echo(f"    {step:<22}{_median(result.bare_steps_ms.get(step, [])):8.1f}")
    for kind, name in KINDS.items():
        click.echo(f"ratio station/bare ({name}): {_median(figures[kind].ratios):.2f}")
    click.echo(f"(goal for RSA-2048: at most {GOAL})")

