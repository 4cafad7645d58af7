"""`renewal remind` (scheduled daily): the renewal reminders due today (public.renewal_reminders);
`renewal opt-out ORDER` / `renewal opt-in ORDER`: the applicant of an order wants no reminders, or
wants them again (asked by phone; the order's console page and the link in a reminder e-mail do the same)."""
from __future__ import annotations

import click
from flask import current_app
from sqlalchemy import select

from backoffice.cli import CLI_ACTOR
from models import Certificate, Order
from models.base import utcnow
from notifications import opt_outs
from public import renewal_reminders
from web.commands import Commands
from web.edge import unit_of_work
from web.extensions import db

renewal_cli = Commands("renewal", help="Renewal reminders.")


@renewal_cli.command("remind")
def remind_command() -> None:
    """Send the renewal reminders due today, each once (schedule daily)."""
    now, base = utcnow(), current_app.config["PUBLIC_BASE_URL"]
    sent: dict[str, int] = {}
    for certificate_id in renewal_reminders.certificates_due(db.session, now):
        with unit_of_work():  # one certificate's reminder does not wait for, or fail with, the others'
            stage = renewal_reminders.remind(db.session, db.session.get(Certificate, certificate_id),
                                             public_base_url=base, now=now)
        if stage:
            sent[stage] = sent.get(stage, 0) + 1
    click.echo(f"{sum(sent.values())} reminder(s) sent" + "".join(f", {stage} {count}" for stage, count
                                                                  in sorted(sent.items())))


def _order(number: str) -> Order:
    order = db.session.scalar(select(Order).where(Order.number == number))
    if order is None:
        raise click.ClickException(f"no order {number}")
    return order


@renewal_cli.command("opt-out")
@click.argument("number")
def opt_out(number: str) -> None:
    """The applicant of order NUMBER (its organisation, or a personal certificate's holder) wants no
    renewal reminders."""
    changed = opt_outs.set_opt_out(db.session, _order(number), True, actor=CLI_ACTOR)
    click.echo("opted out" if changed else "already opted out (or the order names no applicant)")


@renewal_cli.command("opt-in")
@click.argument("number")
def opt_in(number: str) -> None:
    """The applicant of order NUMBER wants renewal reminders again."""
    changed = opt_outs.set_opt_out(db.session, _order(number), False, actor=CLI_ACTOR)
    click.echo("reminders on again" if changed else "reminders were on")
