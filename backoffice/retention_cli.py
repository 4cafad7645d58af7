"""`flask --app wsgi retention purge [--dry-run]`: the retention rule's daily purge (documents.retention),
printing what it removed. The worker runs `purge` below on its schedule."""
from __future__ import annotations

import datetime as dt
import sys

import click
from flask import current_app
from sqlalchemy.orm import Session

from documents.retention import FileStore, PurgeReport, purge_expired
from documents.storage import DocumentStore
from models.base import utcnow
from web.commands import Commands
from web.extensions import db
from web.services import find_service

retention_cli = Commands("retention", help="The retention rule: personal data removed years after the certificate.")


def material_store() -> FileStore:
    """Where the materials' files lie (the document store): the one place the purge learns it."""
    return find_service(DocumentStore)


def purge(session: Session, now: dt.datetime, *, dry_run: bool = False, limit: int | None = None) -> PurgeReport:
    """The scheduled purge with the app's settings (RETENTION_YEARS, the document store), in an app
    context; the caller commits."""
    return purge_expired(session, now, material_store(), years=current_app.config["RETENTION_YEARS"],
                         dry_run=dry_run, limit=limit)


@retention_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many orders.")
def purge_command(dry_run: bool, limit: int | None) -> None:
    """Remove the personal data and documents of orders whose certificate ended more than
    RETENTION_YEARS (at least 5) ago, or that closed without one as long ago (schedule daily)."""
    try:
        report = purge(db.session, utcnow(), dry_run=dry_run, limit=limit)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    verb = "would remove" if dry_run else "removed"
    click.echo(f"retention: records of orders closed or expired before {report.cutoff:%Y-%m-%d}; {verb} the "
               f"personal data of {len(report.orders)} order(s): {report.people} people, {report.files} file(s), "
               f"{report.messages} message(s)")
    for number in report.orders:
        click.echo(f"  {number}")
    for number, why in report.failed.items():
        click.echo(f"  {number}: left as it was, its files could not be deleted: {why}", err=True)
    if report.failed:
        sys.exit(1)
