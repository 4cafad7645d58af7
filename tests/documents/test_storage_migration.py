"""`flask --app wsgi storage migrate` on what an instance kept before the document store: a
material's plain file under UPLOAD_FOLDER and an invoice's PDF in its row go into the store (a
folder, or a bucket), sealed; a second run finds nothing left to do."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from billing import invoices
from documents.storage import DocumentStore
from documents.storage_migration import legacy_path
from models import Material
from models.base import utcnow
from tests import factories


@pytest.fixture
def old_instance(app, db_session, billing_services, tmp_path, monkeypatch, in_app):
    """An order whose licence scan lies in the clear in the upload folder as it used to (its row
    naming the bare file), and whose invoice PDF lies in the invoice's row."""
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
    order = factories.payment(db_session, billing_services.store).order
    licence = db_session.scalars(select(Material).where(Material.order_id == order.id)).first()
    scan = billing_services.store.read(licence.stored_name)
    plain_name = licence.stored_name.removeprefix("materials/")
    legacy_path(folder, plain_name).parent.mkdir(parents=True)
    legacy_path(folder, plain_name).write_bytes(scan)
    billing_services.store.delete(licence.stored_name)
    licence.stored_name = plain_name

    invoice = invoices.issue_blue_invoice(db_session, billing_services, order, actor="t", now=utcnow())
    pdf = invoices.invoice_pdf(billing_services.store, invoice)
    billing_services.store.delete(invoice.pdf_name)
    invoice.pdf_name, invoice.legacy_pdf = None, pdf
    db_session.flush()
    return {"folder": folder, "licence": licence, "scan": scan, "plain_name": plain_name,
            "invoice": invoice, "pdf": pdf}


def test_plain_files_and_invoice_pdfs_are_sealed_into_the_store_once(old_instance, kept, runner, db_session,
                                                                        replace_service):
    replace_service(DocumentStore, kept.store)
    done = runner.invoke(args=["storage", "migrate"])
    assert done.exit_code == 0, done.output
    assert "materials: 1 plain file(s) sealed into the store (1 row(s) renamed), 1 plain file(s) deleted" in done.output
    assert "invoices: 1 PDF(s) moved from the database into the store" in done.output

    licence, invoice = old_instance["licence"], old_instance["invoice"]
    db_session.refresh(licence)
    db_session.refresh(invoice)
    assert licence.stored_name == "materials/" + old_instance["plain_name"]
    assert kept.store.read(licence.stored_name) == old_instance["scan"]
    assert not legacy_path(old_instance["folder"], old_instance["plain_name"]).exists()
    assert invoices.invoice_pdf(kept.store, invoice) == old_instance["pdf"]
    assert db_session.execute(text("SELECT pdf FROM invoice WHERE id = :id"), {"id": invoice.id}).scalar_one() is None
    at_rest = kept.blobs()
    assert len(at_rest) == 2
    assert all(old_instance["scan"] not in blob and b"%PDF" not in blob for blob in at_rest.values())

    again = runner.invoke(args=["storage", "migrate"])
    assert again.exit_code == 0, again.output
    assert "materials: 0 plain file(s) sealed into the store (0 row(s) renamed), 0 plain file(s) deleted" \
        in again.output
    assert "invoices: 0 PDF(s) moved" in again.output
    assert kept.blobs() == at_rest


def test_a_run_cut_off_after_its_commit_deletes_the_plain_file_next_time(old_instance, runner, db_session,
                                                                          billing_services):
    """The rows were renamed and committed, the plain file not yet deleted: the next run deletes it."""
    plain = legacy_path(old_instance["folder"], old_instance["plain_name"])
    kept_copy = plain.read_bytes()
    assert runner.invoke(args=["storage", "migrate"]).exit_code == 0
    plain.parent.mkdir(parents=True, exist_ok=True)
    plain.write_bytes(kept_copy)
    again = runner.invoke(args=["storage", "migrate"])
    assert "0 plain file(s) sealed into the store (0 row(s) renamed), 1 plain file(s) deleted" in again.output
    assert not plain.exists()


def test_a_plain_file_that_is_gone_is_named_and_its_row_left_as_it_is(old_instance, runner, db_session):
    legacy_path(old_instance["folder"], old_instance["plain_name"]).unlink()
    done = runner.invoke(args=["storage", "migrate"])
    assert done.exit_code == 0
    assert f"missing: {legacy_path(old_instance['folder'], old_instance['plain_name'])}" in done.output
    db_session.refresh(old_instance["licence"])
    assert old_instance["licence"].stored_name == old_instance["plain_name"]
