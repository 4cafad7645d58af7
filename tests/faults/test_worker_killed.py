"""A worker process killed (SIGKILL) while it holds a job: nothing of the job is kept, and another
worker, once the dead one's lease has run out, does it exactly once.

The job is a paid order's invoice (billing.invoice_work), issued by a tax platform over HTTP: a
stand-in on 127.0.0.1 that holds the first call until the worker that made it is dead, and that
answers a request number it has seen with the invoice it made for it, as the platform does."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import func, select, update

from backoffice import schedule
from backoffice.config import SECRET_NAMES
from billing import invoice_work
from models import EmailMessage, Invoice, Order, Payment, WorkItem, WorkStatus
from models.base import utcnow
from tests import factories
from tests.databases import own_app
from tests.fake_service import signed_json_service
from tests.station.live import wait_for
from web import jobs
from web.edge import unit_of_work
from web.extensions import db

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_KEY = "platform key"
COUNTED = (Order, Payment, Invoice, EmailMessage)


class TaxPlatform:
    """Numbers an invoice once per request number; holds the first call until `release`."""

    def __init__(self):
        self.numbers: dict[str, str] = {}
        self.held = threading.Event()
        self.released = threading.Event()

    def answer(self, request: dict) -> dict:
        if not self.held.is_set():
            self.held.set()
            self.released.wait(30)
        number = self.numbers.setdefault(request["request_id"], f"2644200000{len(self.numbers) + 1:010d}")
        return {"number": number, "issued_at": utcnow().isoformat(),
                "verify_url": f"https://platform.example/v?n={number}"}


def worker(app, platform_url: str, instance: Path) -> subprocess.Popen:
    environment = {**{k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")},
                   **{f"BACKOFFICE_{name}": app.config[name] for name in SECRET_NAMES},
                   "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "APP_ENV": "test",
                   "BACKOFFICE_INSTANCE": str(instance), "BACKOFFICE_UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
                   "BACKOFFICE_AUDIT_ANCHOR_PATH": app.config["AUDIT_ANCHOR_PATH"],
                   "BACKOFFICE_INVOICE_ISSUER": "tax_platform", "BACKOFFICE_INVOICE_PLATFORM_URL": platform_url,
                   "BACKOFFICE_INVOICE_PLATFORM_KEY": PLATFORM_KEY, "BACKOFFICE_WORKER_POLL_SECONDS": "0.2",
                   "BACKOFFICE_WORKER_SCHEDULE_OFF": ",".join(schedule.SCHEDULE)}
    return subprocess.Popen([str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "worker"], cwd=ROOT,
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def counts(app) -> dict[str, int]:
    """Rows of the tables the invoice job writes, and the files in the document store."""
    with app.app_context():
        rows = {model.__tablename__: db.session.scalar(select(func.count()).select_from(model)) for model in COUNTED}
        db.session.rollback()
    return {**rows, "files": sum(1 for path in Path(app.config["UPLOAD_FOLDER"]).rglob("*") if path.is_file())}


def item_of(app, item_id: int) -> tuple[WorkStatus, int, str | None]:
    with app.app_context():
        item = db.session.get(WorkItem, item_id)
        state = (item.status, item.attempts, item.worker)
        db.session.rollback()
    return state


def test_a_worker_killed_mid_job_leaves_nothing_and_another_does_the_job_once(tmp_path, tmp_path_factory, database_url):
    platform = TaxPlatform()
    with own_app(tmp_path, tmp_path_factory, database_url) as app, \
            signed_json_service(PLATFORM_KEY, platform.answer) as (platform_url, received):
        with app.app_context(), unit_of_work():
            order = factories.payment(db.session, app.config["UPLOAD_FOLDER"]).order
            item_id = jobs.enqueue(db.session, invoice_work.BLUE, order.id).id  # as settling the payment does
            order_id, order_number = order.id, order.number
        before = counts(app)

        first = worker(app, platform_url, tmp_path / "instance")
        try:
            assert platform.held.wait(30), "the first worker never called the tax platform"
            status, attempts, holder = item_of(app, item_id)
            assert (status, attempts, holder.rsplit(":", 1)[1]) == (WorkStatus.RUNNING, 1, str(first.pid))
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
            platform.released.set()
            first.communicate(timeout=10)
        assert counts(app) == before, "the killed worker left part of the invoice behind"
        assert item_of(app, item_id)[0] is WorkStatus.RUNNING, "the dead worker's lease still holds"

        with app.app_context():  # ten minutes later: the dead worker's lease has run out
            db.session.execute(update(WorkItem).where(WorkItem.id == item_id).values(due_at=utcnow()))
            db.session.commit()
        second = worker(app, platform_url, tmp_path / "instance")
        try:
            wait_for(lambda: item_of(app, item_id)[0] is WorkStatus.DONE, timeout=30, what="the invoice job")
        finally:
            second.send_signal(signal.SIGTERM)
            output, _ = second.communicate(timeout=30)
        assert second.returncode == 0, output

        status, attempts, holder = item_of(app, item_id)
        assert (status, attempts, holder.rsplit(":", 1)[1]) == (WorkStatus.DONE, 2, str(second.pid))
        assert [request["request_id"] for request in received] == [f"blue:{order_number}:1"] * 2
        assert counts(app) == {**before, "invoice": before["invoice"] + 1, "email_message": before["email_message"] + 1,
                               "files": before["files"] + 1}
        with app.app_context():
            [invoice] = db.session.scalars(select(Invoice).where(Invoice.order_id == order_id)).all()
            assert invoice.number == platform.numbers[f"blue:{order_number}:1"] and invoice.pdf_name
            assert (Path(app.config["UPLOAD_FOLDER"]) / "invoices").is_dir()
            assert db.session.scalar(select(func.count()).select_from(EmailMessage).where(
                EmailMessage.order_id == order_id)) == 1
