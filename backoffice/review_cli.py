"""Commands of the review console: `audit verify`, `audit seal`, `audit acknowledge-restore`,
`review digest`, `review material-deadlines`."""
from __future__ import annotations

import base64
import datetime as dt
import sys

import click
from flask import current_app

from backoffice.cli import CLI_ACTOR
from models import MaterialRequest, audit_chain
from models.base import utcnow
from review import digest, material_deadlines, operations
from web.commands import Commands
from web.edge import unit_of_work
from web.extensions import db

audit_cli = Commands("audit", help="The hash-chained audit log.")
review_cli = Commands("review", help="The review queues.")


def _seal_key() -> bytes:
    return base64.b64decode(current_app.config["AUDIT_SEAL_KEY"])


@audit_cli.command("verify")
def verify_audit() -> None:
    """Check every entry, the chain head and the seals; exit 1 naming the first bad entry."""
    max_age = dt.timedelta(hours=current_app.config["AUDIT_SEAL_MAX_AGE_HOURS"])
    problems = list(audit_chain.verify(db.session, _seal_key(), max_seal_age=max_age))
    if not problems:
        click.echo("audit log intact")
        return
    click.echo(f"first bad: {problems[0]}", err=True)
    for problem in problems[1:]:
        click.echo(f"also: {problem}", err=True)
    sys.exit(1)


@audit_cli.command("seal")
def seal_audit() -> None:
    """Seal the chain head (schedule at least daily)."""
    seal = audit_chain.seal_head(db.session, _seal_key())
    click.echo(f"sealed entry {seal.head_seq} at {seal.sealed_at:%Y-%m-%d %H:%M:%S} UTC")


@audit_cli.command("acknowledge-restore")
def acknowledge_restore() -> None:
    """Record a restore from backup: the anchor file names later heads than the database holds.

    Run it after restoring and before the application writes again. It refuses when the
    database is not an earlier state of the anchored chain.
    """
    try:
        restore = audit_chain.acknowledge_restore(db.session, _seal_key(), CLI_ACTOR)
    except audit_chain.RestoreRefused as refused:
        raise click.ClickException(f"refused: {refused}") from None
    if restore is None:
        click.echo("nothing to acknowledge: the anchor names no head beyond the database's")
        return
    click.echo(f"restore acknowledged as entry {restore.entry_seq}: chain restored to entry {restore.seq}, "
               f"{restore.dropped} anchored head(s) up to entry {restore.anchored_to} dropped")


@review_cli.command("digest")
def send_digest() -> None:
    """E-mail the daily digest to the senior reviewers (schedule once a day)."""
    sent = digest.send_daily_digest(db.session, utcnow())
    click.echo(f"digest sent to {sent} senior reviewer(s)")


@review_cli.command("material-deadlines")
def material_deadlines_command() -> None:
    """Remind applicants of materials asked for (day 7 and 14); cancel and refund the orders whose
    request ran out (schedule daily)."""
    now, base = utcnow(), current_app.config["PUBLIC_BASE_URL"]
    done: list[str | None] = []
    for request_id in material_deadlines.open_requests(db.session):
        with unit_of_work():  # one order's follow-up does not wait for, or fail with, the others'
            done.append(material_deadlines.follow_up(db.session, db.session.get(MaterialRequest, request_id),
                                                     public_base_url=base, now=now))
    click.echo(f"{done.count('reminded')} reminder(s) sent, {done.count('lapsed')} order(s) cancelled and refunded")


@review_cli.command("fill-working-time")
def fill_working_time() -> None:
    """Store the working time in review of every decision made before decisions stored it (run once
    after upgrading; a second run finds nothing to fill)."""
    filled = operations.fill_working_seconds(db.session)
    click.echo(f"working time stored for {filled} decision(s)")
