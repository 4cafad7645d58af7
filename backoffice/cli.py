"""Commands: `flask --app wsgi channel create NAME`, `sms outbox`, `demo load`."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from backoffice.extensions import db
from notifications import outbox
from public import catalogue

channel_cli = AppGroup("channel", help="Channels through which orders arrive.")
sms_cli = AppGroup("sms", help="The SMS outbox.")
demo_cli = AppGroup("demo", help="Demo data for a development machine.")


@channel_cli.command("create")
@click.argument("name")
@click.option("--code", help="Short code used in the form URL (default: derived from NAME).")
def create_channel(name: str, code: str | None) -> None:
    """Create a channel and print its API key (shown only this once)."""
    channel, key = catalogue.create_channel(db.session, name, code)
    db.session.commit()
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
    db.session.commit()


def init_app(app: Flask) -> None:
    for group in (channel_cli, sms_cli, demo_cli):
        app.cli.add_command(group)
