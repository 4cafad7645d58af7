"""`flask --app wsgi bench reports`: the dashboard request against the SQL it issues.

A scratch database (a new SQLite file unless --database-url names an empty one) is filled with the demo
loader's applications (100,000 by default), their decisions with their working time (on PostgreSQL then vacuumed
and analysed, as autovacuum would soon after such a load); a senior reviewer signs
in and the dashboard is requested with caches off (the console's queue counts recomputed every time).
Every statement one request sends to the database is captured with an SQLAlchemy event (SQLite's
BEGIN included), and the same statements with the same parameters are then run bare on one driver
connection, their rows fetched. Printed:
the median of each, and `ratio dashboard/bare`, the page's own cost (Flask, login, templates) on top of
its SQL.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import click
from flask_migrate import upgrade
from sqlalchemy import event, func, select

from backoffice import bench_common, create_app, demo
from backoffice.demo_data import load_applications
from documents.storage import DocumentStore
from models import Order, ReviewDecision, Staff, StaffRole
from models.base import utcnow
from web import staff_accounts
from web.extensions import db
from web.services import find_service

GOAL = 2
PASSWORD = "bench-password"
URL = "/console/dashboard"


@click.option("--applications", default=100_000, show_default=True)
@click.option("--database-url", help="An empty database to fill (default: a new SQLite file).")
@click.option("--repeat", default=30, show_default=True)
def bench_reports(applications: int, database_url: str | None, repeat: int) -> None:
    """Median time of the dashboard request, caches off, and of the SQL it issues run bare."""
    scratch = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{scratch / 'bench.db'}",
                      "UPLOAD_FOLDER": str(scratch / "uploads"), "AUDIT_ANCHOR_PATH": str(scratch / "audit-anchor.log"),
                      "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False, "QUEUE_COUNTS_TTL_SECONDS": 0,
                      "STAFF_IDLE_TIMEOUT_MINUTES": 600})
    try:
        username, secret = _prepare(app, applications)
        client = app.test_client()
        bench_common.login(client, username, secret, PASSWORD)
        _measure(app, client, repeat)
    finally:
        with app.app_context():
            db.engine.dispose()
        shutil.rmtree(scratch, ignore_errors=True)


def _prepare(app, applications: int) -> tuple[str, str]:
    with app.app_context():
        upgrade()
        if not db.session.scalar(select(func.count()).select_from(Order)):
            for _ in demo.load(db.session):  # the catalogue, and the staff who decide and ship
                pass
            started = time.perf_counter()
            load_applications(db.session, applications, now=utcnow(), store=find_service(DocumentStore))
            db.session.commit()
            click.echo(f"loaded {applications:,} applications in {time.perf_counter() - started:.1f} s")
        senior = Staff(username="bench-senior", display_name="Bench", role=StaffRole.SENIOR_REVIEWER,
                       password_hash=staff_accounts.hash_password(PASSWORD))
        staff_accounts.start_enrolment(senior)
        senior.totp_confirmed_at = utcnow()
        db.session.add(senior)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # What autovacuum does soon after a load: the planner's statistics, and the visibility map
            # that lets a statement read an index alone.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
        decisions = db.session.scalar(select(func.count()).select_from(ReviewDecision))
        click.echo(f"{db.engine.dialect.name}: {applications:,} applications, {decisions:,} decisions")
        return senior.username, senior.totp_secret


def _get(client) -> None:
    response = client.get(URL)
    if response.status_code != 200:
        raise click.ClickException(f"{URL} answered {response.status_code}")


def _statements(app, client) -> list[tuple[str, object]]:
    """Every statement one dashboard request sends, with its parameters."""
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        _get(client)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return seen


def _measure(app, client, repeat: int) -> None:
    page_ms = bench_common.median_ms(lambda: _get(client), repeat)
    statements = _statements(app, client)
    with app.app_context():
        connection = db.engine.raw_connection()  # the driver's own: no SQLAlchemy between
    try:
        cursor = connection.cursor()

        def bare():
            for statement, parameters in statements:
                cursor.execute(statement, parameters)
                if cursor.description is not None:
                    cursor.fetchall()
            connection.rollback()  # the request's own writes, if any, are not kept

        bare_ms = bench_common.median_ms(bare, repeat)
    finally:
        connection.close()
    click.echo(f"{repeat} requests of {URL} (caches off) and {repeat} runs of its {len(statements)} statements")
    click.echo(f"dashboard request     median {page_ms:8.2f} ms")
    click.echo(f"its SQL, bare         median {bare_ms:8.2f} ms")
    click.echo(f"ratio dashboard/bare: {page_ms / bare_ms:.2f}  (goal <= {GOAL})")
