"""Commands of the review console: `audit verify`, `audit seal`, `review digest`."""
from __future__ import annotations

import base64
import datetime as dt
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from backoffice import edge
from backoffice.extensions import db
from models import audit_chain
from models.base import utcnow
from review import digest

audit_cli = AppGroup("audit", help="The hash-chained audit log.")
review_cli = AppGroup("review", help="The review queues.")


def _seal_key() -> bytes:
    return base64.b64decode(current_app.config["AUDIT_SEAL_KEY"])


@audit_cli.command("verify")
def verify_audit() -> None:
    """Check every entry, the chain head and the seals; exit 1 naming the first bad entry."""
    max_age = dt.timedelta(hours=current_app.config["AUDIT_SEAL_MAX_AGE_HOURS"])
    problems = list(audit_chain.verify(db.session, _seal_key(), max_seal_age=max_age))
    db.session.rollback()
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
    db.session.commit()
    click.echo(f"sealed entry {seal.head_seq} at {seal.sealed_at:%Y-%m-%d %H:%M:%S} UTC")


@review_cli.command("digest")
def send_digest() -> None:
    """E-mail the daily digest to the senior reviewers (schedule once a day)."""
    sent = digest.send_daily_digest(db.session, utcnow())
    db.session.commit()
    edge.deliver_queued()
    click.echo(f"digest sent to {sent} senior reviewer(s)")
