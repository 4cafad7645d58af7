"""`flask --app wsgi storage migrate`: what an instance kept before the document store goes into it,
sealed (documents.storage_migration says how a run cut off is taken up again). `make migrate` runs
it after `db upgrade`; run it once after upgrading any instance, whichever STORAGE_BACKEND it has."""
from __future__ import annotations

import click
from flask import current_app
from sqlalchemy import select

from backoffice.cli import CLI_ACTOR
from documents import storage_migration as migration
from documents.storage import DocumentStore
from models import Invoice, record
from models.batches import batches
from web.commands import Commands
from web.edge import unit_of_work
from web.extensions import db
from web.services import find_service

storage_cli = Commands("storage", help="The document store (materials, invoice PDFs), sealed at rest.")

# Rows per transaction: a run cut off loses at most one batch of work, which the next run redoes.
BATCH = 100


@storage_cli.command("migrate")
def migrate_command() -> None:
    """Seal the plain upload files into the store and move the invoice PDFs out of the database.

    Safe to run again: what is in the store already is left as it is. Prints what it did."""
    store = find_service(DocumentStore)
    folder = current_app.config["UPLOAD_FOLDER"]
    migrated = migration.Migrated()
    for batch in batches(migration.legacy_material_names(db.session), BATCH):
        with unit_of_work() as session:
            plain = [path for name in batch
                     if (path := migration.seal_material_file(session, store, folder, name, migrated))]
        for path in plain:  # only now that the rows naming the sealed objects are committed
            path.unlink(missing_ok=True)
            migrated.plain_files_deleted += 1
    for path in migration.leftover_plain_files(db.session, folder):
        path.unlink(missing_ok=True)
        migrated.plain_files_deleted += 1
    for batch in batches(migration.invoices_to_move(db.session), BATCH):
        with unit_of_work() as session:
            for invoice in session.scalars(select(Invoice).where(Invoice.id.in_(batch))):
                migration.move_invoice_pdf(session, store, invoice, migrated)
    if migrated.materials_sealed or migrated.materials_renamed or migrated.invoices_moved:
        with unit_of_work() as session:
            record(session, CLI_ACTOR, "storage.migrated", target="storage",
                   after={"materials_sealed": migrated.materials_sealed, "material_rows": migrated.materials_renamed,
                          "invoices_moved": migrated.invoices_moved, "missing": len(migrated.missing)})
    click.echo(f"materials: {migrated.materials_sealed} plain file(s) sealed into the store "
               f"({migrated.materials_renamed} row(s) renamed), {migrated.plain_files_deleted} plain file(s) deleted")
    click.echo(f"invoices: {migrated.invoices_moved} PDF(s) moved from the database into the store")
    for path in migrated.missing:
        click.echo(f"missing: {path} is named by a material but is neither there nor in the store", err=True)
