"""`notifications deliver-pending`: what the workers do all the time, done once (by hand, or where no
worker runs)."""
from __future__ import annotations

import sys

import click

from notifications import delivery
from web.commands import Commands
from web.extensions import db

notifications_cli = Commands("notifications", help="The outboxes of SMS, e-mails and 0.01-yuan transfers.")


@notifications_cli.command("deliver-pending")
def deliver_pending() -> None:
    """Send every message that is due: queued and never tried, or failed and its next attempt
    come. Exit 1 when one was given up this run: it
    is failed (or a transfer's outcome unknown) after its last attempt, and a person must act."""
    tally = delivery.deliver_pending(db.session, delivery.current_gateways(), delivery.current_policy())
    click.echo(f"sent {tally.sent}, to retry {tally.retrying}, outcome unknown {tally.unknown}, "
               f"expired {tally.expired}, given up {len(tally.given_up)}")
    for given_up in tally.given_up:
        click.echo(f"  given up: {given_up}", err=True)
    if tally.given_up:
        sys.exit(1)
