"""`flask --app wsgi bench queue`: our queue page against Flask-Admin's default list view; and
`bench invoice` (billing.bench): the invoice PDF against a minimal PDF of the same text.

Both pages show the same columns of the same orders (the new-application queue, waiting or
in review, by SLA due time), 20 rows a page, served in process by the test client, warm.
Our deep page is reached the way a reviewer reaches it: following the page's own "next"
links. The bare keyset query is timed too, so the page's own cost shows.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path

import click
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_migrate import upgrade
from sqlalchemy import func, select

from backoffice import bench_common, bench_reports, bench_station, create_app, demo
from backoffice.demo_data import load_applications
from billing import bench as invoice_bench
from documents.storage import DocumentStore
from models import Order, OrderStatus, ReviewQueue, Staff, StaffRole
from models.base import utcnow
from review import queues
from web import staff_accounts
from web.commands import Commands
from web.extensions import db
from web.services import find_service

bench_cli = Commands("bench", help="Benchmarks that print figures measured in one run.")


@bench_cli.command("invoice")
@click.option("--repeat", default=30, show_default=True, type=click.IntRange(min=1), help="Renders of each kind.")
def bench_invoice(repeat: int) -> None:
    """Median time to render an invoice PDF and its ratio to a minimal PDF of the same text."""
    result = invoice_bench.measure_invoice(repeat)
    click.echo(f"{repeat} renders of each, interleaved, fresh data each time ({invoice_bench.WARM_UP} to warm up)")
    click.echo(f"invoice PDF (template, QR code, layout)   median {result.invoice_ms:7.1f} ms")
    click.echo(f"minimal PDF (same text, same fonts)       median {result.minimal_ms:7.1f} ms")
    click.echo(f"ratio invoice / minimal                   {result.ratio:7.2f}  (goal <= {invoice_bench.GOAL})")
PAGE = 20


class DefaultOrderList(ModelView):
    """The list a team gets for free: a default ModelView with our queue's columns."""

    column_list = ("number", "organisation.name", "organisation.credit_code", "business_type", "channel.name",
                   "status", "reviewer.display_name", "sla_due_at")
    column_default_sort = "sla_due_at"
    column_filters = ("queue", "status")
    page_size = PAGE

    def is_accessible(self) -> bool:
        return True


def _bench_app(database_url: str, upload_folder: str):
    # The scratch database's audit heads are anchored beside it, never in the instance's anchor.
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "UPLOAD_FOLDER": upload_folder,
                      "AUDIT_ANCHOR_PATH": str(Path(upload_folder).parent / "audit-anchor.log"),
                      "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False, "QUEUE_COUNTS_TTL_SECONDS": 3600,
                      "STAFF_IDLE_TIMEOUT_MINUTES": 600})
    admin = Admin(app, name="bench", url="/bench-admin", endpoint="bench_admin")
    admin.add_view(DefaultOrderList(Order, db, endpoint="bench_orders"))
    return app


def _prepare(app, applications: int) -> Staff:
    with app.app_context():
        upgrade()
        if not db.session.scalar(select(func.count()).select_from(Order)):
            for _ in demo.load_catalogue(db.session):
                pass
            started = time.perf_counter()
            load_applications(db.session, applications, now=utcnow(),
                              store=find_service(DocumentStore))
            db.session.commit()
            click.echo(f"loaded {applications:,} applications in {time.perf_counter() - started:.1f} s")
        reviewer = db.session.scalar(select(Staff).where(Staff.username == "bench-reviewer"))
        if reviewer is None:
            reviewer = Staff(username="bench-reviewer", display_name="Bench", role=StaffRole.REVIEWER,
                             password_hash=staff_accounts.hash_password("bench-password"))
            staff_accounts.start_enrolment(reviewer)
            reviewer.totp_confirmed_at = utcnow()
            db.session.add(reviewer)
        db.session.commit()
        return reviewer.username, reviewer.totp_secret


def _login(client, username: str, secret: str) -> None:
    bench_common.login(client, username, secret, "bench-password")


def _get(client, url: str) -> str:
    response = client.get(url)
    if response.status_code != 200:
        raise click.ClickException(f"{url} answered {response.status_code}")
    return response.get_data(as_text=True)


def _deep_url(client, first_url: str, deep_page: int) -> str:
    """Follow the page's own next links to the deep page."""
    url = first_url
    for _ in range(deep_page - 1):
        match = re.search(r'<a[^>]*rel="next"[^>]*href="([^"]+)"', _get(client, url))
        if match is None:
            raise click.ClickException(f"the queue has fewer than {deep_page:,} pages")
        url = match.group(1).replace("&amp;", "&")
    page = _get(client, url)
    first_row = (deep_page - 1) * PAGE + 1
    if f"{first_row:,}" not in page and str(first_row) not in page:
        raise click.ClickException(f"page {deep_page:,} does not start at row {first_row:,}")
    return url


def _bare_query_ms(app, cursor: queues.Cursor | None, repeat: int) -> float:
    with app.app_context():
        me = db.session.scalar(select(Staff).where(Staff.username == "bench-reviewer"))

        def run():
            queues.queue_page(db.session, ReviewQueue.NEW, queues.QueueFilter(), me, calendar=None,
                              now=utcnow(), after=cursor, size=PAGE)

        result = bench_common.median_ms(run, repeat)
        db.session.rollback()
        return result


@bench_cli.command("queue")
@click.option("--applications", default=100_000, show_default=True)
@click.option("--database-url", help="An empty database to fill (default: a new SQLite file).")
@click.option("--repeat", default=30, show_default=True)
@click.option("--deep-page", default=2000, show_default=True)
def bench_queue(applications: int, database_url: str | None, repeat: int, deep_page: int) -> None:
    """Median server time of page 1 and page 2,000 of the main queue: ours vs Flask-Admin's."""
    scratch = Path(tempfile.mkdtemp(prefix="bench-queue-"))
    app = _bench_app(database_url or f"sqlite:///{scratch / 'bench.db'}", str(scratch / "uploads"))
    try:
        _measure(app, applications, repeat, deep_page)
    finally:
        with app.app_context():
            db.engine.dispose()
        shutil.rmtree(scratch, ignore_errors=True)


def _measure(app, applications: int, repeat: int, deep_page: int) -> None:
    username, secret = _prepare(app, applications)
    with app.app_context():
        in_queue = db.session.scalar(select(func.count()).select_from(Order).where(
            Order.queue == ReviewQueue.NEW, Order.status.in_(queues.ACTIVE)))
        dialect = db.engine.dialect.name
    click.echo(f"{dialect}: {in_queue:,} of {applications:,} applications in the new-application queue")
    client = app.test_client()
    _login(client, username, secret)
    ours_first = "/console/queues/new"
    ours_deep = _deep_url(client, ours_first, deep_page)
    statuses = ",".join(s.value for s in (OrderStatus.PAID, OrderStatus.IN_REVIEW))
    theirs = f"/bench-admin/bench_orders/?flt0_queue_equals=new&flt1_status_in_list={statuses}"
    admin_first = _get(client, theirs)
    if admin_first.count("<tr") < PAGE:
        raise click.ClickException("Flask-Admin's list shows fewer rows than expected; check its filter")
    cursor = queues.Cursor.decode(re.search(r"after=([0-9.]+)", ours_deep).group(1))
    figures = {
        "first": (bench_common.median_ms(lambda: client.get(ours_first), repeat),
                  bench_common.median_ms(lambda: client.get(theirs), repeat)),
        "deep": (bench_common.median_ms(lambda: client.get(ours_deep), repeat),
                 bench_common.median_ms(lambda: client.get(f"{theirs}&page={deep_page - 1}"), repeat)),
    }
    bare = {"first": _bare_query_ms(app, None, repeat), "deep": _bare_query_ms(app, cursor, repeat)}
    click.echo(f"{'page':<12}{'ours ms':>10}{'Flask-Admin ms':>16}{'ratio':>8}{'bare SQL ms':>13}{'ours - SQL':>12}")
    for name, label in (("first", "1"), ("deep", f"{deep_page:,}")):
        ours, theirs_ms = figures[name]
        click.echo(f"{label:<12}{ours:>10.2f}{theirs_ms:>16.2f}{ours / theirs_ms:>8.3f}{bare[name]:>13.2f}"
                   f"{ours - bare[name]:>12.2f}")
    click.echo(f"our page {deep_page:,} / our page 1: {figures['deep'][0] / figures['first'][0]:.2f}")


bench_cli.command("station")(bench_station.bench_station)
bench_cli.command("reports")(bench_reports.bench_reports)
