"""Commands of the key programming station: a station's agent credential (admin also issues,
rotates and revokes them on the Stations page), and blank keys for `make run` and demos.

    flask --app wsgi station credential NAME [--file PATH]   # add the station if new; a new credential
    flask --app wsgi station revoke NAME
    flask --app wsgi station blank-keys --count 5              # SoftHSM2 only: tokens as a vendor ships them
    flask --app wsgi station track-parcels                     # hourly: deliveries and returns from the courier
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import select

from fulfillment import shipping
from fulfillment.couriers import CourierTracking
from models import Staff, StaffRole, Station
from station import credentials
from web.commands import Commands
from web.extensions import db
from web.services import find_service

station_cli = Commands("station", help="The key programming station: agent credentials, blank keys.")
CLI_STAFF = "admin"  # whose name the audit log gives a credential made at the terminal (the demo admin)


def _admin() -> Staff:
    admin = db.session.scalars(select(Staff).where(Staff.role == StaffRole.ADMIN, Staff.active.is_(True))
                               .order_by(Staff.username != CLI_STAFF, Staff.id)).first()
    if admin is None:
        raise click.ClickException("no active admin: `flask staff add` one first")
    return admin


def _station(name: str) -> Station | None:
    return db.session.scalars(select(Station).where(Station.name == name)).first()


@station_cli.command("credential")
@click.argument("name")
@click.option("--file", "path", type=click.Path(dir_okay=False, path_type=Path),
              help="write the credential to this file (mode 0600) instead of printing it")
@click.option("--if-missing", is_flag=True, help="do nothing when the file holds a live credential of NAME (make run)")
def credential(name: str, path: Path | None, if_missing: bool) -> None:
    """A new credential for station NAME (added if new); the earlier one stops working."""
    if if_missing and path is not None and path.exists():
        live = credentials.authenticate(db.session, f"Bearer {path.read_text().strip()}")
        if live is not None and live.name == name:
            click.echo(f"station {name}: its agent's credential is in {path} already")
            return
    station = _station(name)
    if station is None:
        made = credentials.register(db.session, name, _admin())[1]
    else:
        made = credentials.issue(db.session, station, _admin())
    if path is None:
        click.echo(made)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(made + "\n")
    click.echo(f"station {name}: a new credential for its agent in {path}")


@station_cli.command("revoke")
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke station NAME's credential: its agent is refused from now on."""
    station = _station(name)
    if station is None:
        raise click.ClickException(f"no station {name!r}")
    credentials.revoke(db.session, station, _admin())
    click.echo(f"station {name}: credential revoked")


@station_cli.command("blank-keys")
@click.option("--count", default=5, show_default=True, type=click.IntRange(1, 100))
def blank_keys(count: int) -> None:
    """Make COUNT blank keys in SoftHSM2's token store (SOFTHSM2_CONF): tokens set up with the
    transport SO PIN and holding nothing, as a key vendor ships them."""
    if "softhsm" not in current_app.config["PKCS11_MODULE"]:
        raise click.ClickException("blank keys are made on SoftHSM2 only; real keys come blank from the vendor")
    if not os.environ.get("SOFTHSM2_CONF"):
        raise click.ClickException("SOFTHSM2_CONF is not set: the keys would land in /var/lib/softhsm/tokens")
    so_pin = current_app.config["STATION_TRANSPORT_SO_PIN"]
    for number in range(count):
        # softhsm2-util wants a user PIN; the station's C_InitToken unsets it again.
        done = subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", f"UKEY-{number + 1:02d}",
                               "--so-pin", so_pin, "--pin", secrets.token_hex(4)], capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"softhsm2-util failed: {done.stderr.strip() or done.stdout.strip()}")
    click.echo(f"{count} blank keys in {os.environ['SOFTHSM2_CONF']}'s token store")


@station_cli.command("track-parcels")
def track_parcels() -> None:
    """Ask the courier's tracking service about every parcel on its way: a delivered one completes
    its order, a returned one goes back to be shipped again (the applicant is told). Hourly."""
    counts = shipping.track_parcels(db.session, find_service(CourierTracking))
    click.echo(f"{counts.delivered} delivered, {counts.returned} returned, {counts.in_transit} on their way, "
               f"{counts.unavailable} not answered (asked again next time)")
