"""Commands of the CA's side, run where the web app runs (it holds no CA key): `ca publish-crl`
asks the signing service for a new CRL (schedule it well within CRL_NEXT_UPDATE_HOURS), and
`ca check-expiry` warns the admins of CA certificates and CRLs about to run out (daily)."""
from __future__ import annotations

import sys

import click
from flask import current_app
from sqlalchemy import select

from issuance import expiry
from issuance.interfaces import SigningService, SigningUnavailable
from models import Staff, StaffRole
from models.base import utcnow
from notifications.messages import render_email
from notifications.outbox import queue_email
from review.navigation import shanghai
from web.commands import Commands
from web.edge import unit_of_work
from web.extensions import db
from web.services import find_service

ca_cli = Commands("ca", help="The CA: key ceremony, CRL publishing, expiry warnings.")
WHAT = {"root": "根 CA 证书", "issuing": "签发 CA 证书", "ocsp": "OCSP 响应者证书", "crl": "CRL"}


@ca_cli.command("publish-crl")
def publish_crl() -> None:
    """Have the signing service sign and publish a new CRL."""
    try:
        published = find_service(SigningService).publish_crl()
    except SigningUnavailable as exc:
        raise click.ClickException(f"the signing service cannot be reached: {exc}") from exc
    click.echo(f"CRL {published.crl_number} published: {published.revoked_count} revoked, "
               f"next update {published.next_update:%Y-%m-%d %H:%M} UTC")


@ca_cli.command("check-expiry")
def check_expiry() -> None:
    """E-mail the admins what is about to run out; exit 1 when anything is."""
    now = utcnow()
    found = expiry.expiring(db.session, now, certificate_days=current_app.config["CA_EXPIRY_WARNING_DAYS"],
                            crl_hours=current_app.config["CRL_EXPIRY_WARNING_HOURS"])
    if not found:
        click.echo("nothing of the CA runs out soon")
        return
    message = render_email("ca_expiry", now=shanghai(now), items=[
        {"what": WHAT[item.what], "subject": item.subject, "at": shanghai(item.at), "past": item.past,
         "ends": "过下次更新时间" if item.what == "crl" else "到期"} for item in found])
    admins = db.session.scalars(select(Staff.email).where(Staff.role == StaffRole.ADMIN, Staff.active.is_(True),
                                                           Staff.email.is_not(None))).all()
    with unit_of_work():  # sent before the exit with an error, which discards the command's own
        for address in admins:
            queue_email(db.session, address, message)
    for item in found:
        click.echo(f"{item.what} {item.subject}: {'ended' if item.past else 'ends'} {item.at:%Y-%m-%d %H:%M} UTC",
                   err=True)
    click.echo(f"told {len(admins)} admin(s)", err=True)
    sys.exit(1)
