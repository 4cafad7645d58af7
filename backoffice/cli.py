"""Commands: `flask --app wsgi channel create NAME`, `sms outbox`, `demo load`, `staff ...`."""
from __future__ import annotations

import click
from flask import Flask, current_app
from sqlalchemy import select

from models import Staff, StaffRole
from notifications import outbox
from public import catalogue
from web import staff_accounts
from web.commands import Commands
from web.extensions import db

channel_cli = Commands("channel", help="Channels through which orders arrive.")
sms_cli = Commands("sms", help="The SMS outbox.")
demo_cli = Commands("demo", help="Demo data for a development machine.")
staff_cli = Commands("staff", help="Staff accounts: create, unlock, reset the second factor.")
CLI_ACTOR = "cli"


@channel_cli.command("create")
@click.argument("name")
@click.option("--code", help="Short code used in the form URL (default: derived from NAME).")
def create_channel(name: str, code: str | None) -> None:
    """Create a channel and print its API key (shown only this once)."""
    channel, key = catalogue.create_channel(db.session, name, code)
    click.echo(f"channel: {channel.code} ({channel.name})")
    click.echo(f"form:    /c/{channel.code}/apply")
    click.echo(f"api key: {key}")


@sms_cli.command("outbox")
@click.option("--phone", required=True)
def show_outbox(phone: str) -> None:
    """Print the latest message sent to PHONE (not available in production)."""
    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("the outbox is not readable in production")
    message = outbox.latest_for(db.session, phone)
    if message is None:
        raise click.ClickException(f"no message for {phone}")
    click.echo(f"{message.created_at:%Y-%m-%d %H:%M:%S} [{message.status}] {message.text}")


@demo_cli.command("load")
def load_demo() -> None:
    """Load the demo catalogue, channels and staff accounts (safe to run again)."""
    from backoffice import demo

    for line in demo.load(db.session):
        click.echo(line)


def _staff(username: str) -> Staff:
    staff = db.session.scalar(select(Staff).where(Staff.username == username))
    if staff is None:
        raise click.ClickException(f"no staff member {username}")
    return staff


@staff_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([role.value for role in StaffRole]))
@click.option("--name", "display_name", required=True, help="Display name, e.g. 审核员 王芳.")
@click.option("--email")
@click.password_option(help="Prompted for (hidden, asked twice) when not given.")
def create_staff(username: str, role: str, display_name: str, email: str | None, password: str) -> None:
    """Create a staff account; they set up their second factor at the first sign-in."""
    if db.session.scalar(select(Staff.id).where(Staff.username == username)) is not None:
        raise click.ClickException(f"staff member {username} already exists")
    if len(password) < staff_accounts.MIN_PASSWORD_LENGTH:
        raise click.ClickException(f"the password needs at least {staff_accounts.MIN_PASSWORD_LENGTH} characters")
    staff_accounts.create_staff(db.session, username=username, display_name=display_name, role=StaffRole(role),
                                password=password, email=email, actor=CLI_ACTOR)
    click.echo(f"staff {role} {username} created; the second factor is set up at the first sign-in")


@staff_cli.command("totp")
@click.argument("username")
def show_totp(username: str) -> None:
    """Print USERNAME's current TOTP code (not available in production)."""
    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("TOTP codes are not shown in production")
    staff = _staff(username)
    if staff.totp_secret is None:
        raise click.ClickException(f"{username} has no second factor yet")
    click.echo(staff_accounts.current_totp_code(staff))


@staff_cli.command("unlock")
@click.argument("username")
def unlock_staff(username: str) -> None:
    """Lift USERNAME's lock-out after failed sign-ins."""
    staff_accounts.lift_lockout(db.session, _staff(username), actor=CLI_ACTOR)
    click.echo(f"{username} may sign in again")


@staff_cli.command("reset-2fa")
@click.argument("username")
def reset_second_factor(username: str) -> None:
    """Forget USERNAME's TOTP secret; they set up a new one at the next sign-in."""
    staff_accounts.reset_second_factor(db.session, _staff(username), actor=CLI_ACTOR)
    click.echo(f"{username} sets up a new second factor at the next sign-in")


def init_app(app: Flask) -> None:
    from backoffice.backup_cli import backup_command, restore_command
    from backoffice.bench import bench_cli
    from backoffice.billing_cli import billing_cli
    from backoffice.ca_cli import ca_cli
    from backoffice.calendar_cli import calendar_cli
    from backoffice.demo_data import demo_data_command
    from backoffice.loadtest.cli import loadtest_cli
    from backoffice.notifications_cli import notifications_cli
    from backoffice.renewal_cli import renewal_cli
    from backoffice.retention_cli import retention_cli
    from backoffice.review_cli import audit_cli, review_cli
    from backoffice.station_cli import station_cli
    from backoffice.storage_cli import storage_cli
    from backoffice.worker import worker_command

    for group in (channel_cli, sms_cli, demo_cli, staff_cli, audit_cli, review_cli, bench_cli, billing_cli,
                  notifications_cli, ca_cli, station_cli, calendar_cli, backup_command, restore_command,
                  storage_cli, retention_cli, worker_command, loadtest_cli, renewal_cli):
        app.cli.add_command(group)
    app.cli.add_command(demo_data_command)
