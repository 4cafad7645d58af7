"""Commands of the CA's side. `ca ceremony` (and `ca ocsp-responder`) is the key ceremony: two
officers sign in with their password and TOTP code, and the root, the issuing CA and its OCSP
responder are made, their keys in key files or on the token by CA_SIGNER — an offline act, on
the machine of the signing service. The others run where the web app runs, which holds no CA
key: `ca publish-crl` asks the signing service for a new CRL (schedule it well within
CRL_NEXT_UPDATE_HOURS) and `ca check-expiry` warns the admins of CA certificates and CRLs about
to run out (daily)."""
from __future__ import annotations

import sys

import click
from flask import current_app
from sqlalchemy import select

from issuance import ceremony as ceremonies
from issuance import expiry
from issuance.interfaces import SigningService, SigningUnavailable
from issuance.settings import CaSettings
from models import Staff, StaffRole
from models.base import utcnow
from notifications.messages import render_email
from notifications.outbox import queue_email
from review.navigation import shanghai
from web import staff_accounts
from web.commands import Commands
from web.edge import unit_of_work
from web.extensions import db
from web.services import find_service

ca_cli = Commands("ca", help="The CA: key ceremony, CRL publishing, expiry warnings.")
WHAT = {"root": "根 CA 证书", "issuing": "签发 CA 证书", "ocsp": "OCSP 响应者证书", "crl": "CRL"}


# Who may hold a ceremony: two different officers, each an admin or a senior reviewer.
OFFICERS = (StaffRole.ADMIN, StaffRole.SENIOR_REVIEWER)
# make run's embedded CA (outside production only): the demo accounts of these two roles.
DEMO_OFFICERS = ("admin", "senior")


def _signed_in_officer(number: int, others: list[Staff]) -> Staff:
    """One officer, signed in at the terminal with password and TOTP code (each failure counts
    toward the account's lock-out, as on the sign-in page)."""
    username = click.prompt(f"officer {number}: username")
    password = click.prompt(f"officer {number}: password", hide_input=True)
    code = click.prompt(f"officer {number}: TOTP code")
    staff = db.session.scalar(select(Staff).where(Staff.username == username))
    now = utcnow()
    with unit_of_work():  # a failure is counted even though the ceremony stops
        good = (staff_accounts.check_password(staff, password) and staff.is_active and not staff.is_locked(now)
                and staff_accounts.accept_totp_code(staff, code, now=now))
        if not good and staff is not None:
            staff_accounts.record_failed_login(db.session, staff, now=now, source="cli:ca", stage="ceremony",
                                               max_failures=current_app.config["STAFF_MAX_FAILED_LOGINS"],
                                               lockout_minutes=current_app.config["STAFF_LOCKOUT_MINUTES"])
    if not good:
        raise click.ClickException(f"officer {number}: the username, password or code is wrong")
    if staff.role not in OFFICERS or any(staff.id == other.id for other in others):
        raise click.ClickException(f"officer {number}: a ceremony needs two different admins or senior reviewers")
    return staff


def _officers(demo: bool) -> list[Staff]:
    if not demo:
        officers: list[Staff] = []
        for number in (1, 2):
            officers.append(_signed_in_officer(number, officers))
        return officers
    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("--demo holds a ceremony without the officers signing in: never in production")
    officers = list(db.session.scalars(select(Staff).where(Staff.username.in_(DEMO_OFFICERS))))
    if len(officers) != len(DEMO_OFFICERS):
        raise click.ClickException("--demo needs the demo accounts: run `flask --app wsgi demo load` first")
    return officers


@ca_cli.command("ceremony")
@click.option("--key-type", type=click.Choice(["ec_p256", "rsa2048", "rsa3072", "rsa4096"]), default="ec_p256",
              show_default=True, help="The CA keys' type.")
@click.option("--replace", is_flag=True, help="Make a new CA although one exists (the old one stays to verify).")
@click.option("--demo", is_flag=True, help="make run's embedded CA, held by the demo accounts (not in production).")
@click.option("--if-missing", is_flag=True, help="Do nothing when an issuing CA exists already.")
def ceremony(key_type: str, replace: bool, demo: bool, if_missing: bool) -> None:
    """Make the root CA, the issuing CA it signs, its OCSP responder and its first CRL."""
    if if_missing and ceremonies.ca_exists(db.session):
        click.echo("an issuing CA exists already")
        return
    officers = _officers(demo)
    try:
        held = ceremonies.hold_ceremony(db.session, CaSettings.from_config(current_app.config), officers,
                                        key_type=key_type, replace=replace)
    except ceremonies.CeremonyRefused as refused:
        raise click.ClickException(f"refused: {refused}") from None
    for ca in (held.root, held.issuing, held.responder):
        click.echo(f"{ca.role.value:8} {ca.subject}  serial {ca.serial_number}  until {ca.not_after:%Y-%m-%d}  "
                   f"key {ca.key_ref}")


@ca_cli.command("ocsp-responder")
@click.option("--key-type", type=click.Choice(["ec_p256", "rsa2048"]), default="ec_p256", show_default=True)
def ocsp_responder(key_type: str) -> None:
    """A new OCSP responder certificate for the issuing CA in use (before the old one ends)."""
    officers = _officers(demo=False)
    responder = ceremonies.make_ocsp_responder(db.session, CaSettings.from_config(current_app.config), officers,
                                               key_type=key_type)
    click.echo(f"ocsp     {responder.subject}  serial {responder.serial_number}  until "
               f"{responder.not_after:%Y-%m-%d}  key {responder.key_ref}")


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
