"""`flask --app wsgi loadtest prepare | verify`: what the load scripts need before a run, and
the count of what they were told was accepted, after it. Load-test mode only (LOAD_TEST)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import func, select

from documents.materials import current_materials
from documents.storage import DocumentStore
from models import CertKind, Channel, Order, OrderStatus, Organisation, Staff, StaffRole
from models.base import utcnow
from public import catalogue
from web import staff_accounts
from web.commands import Commands
from web.extensions import db
from web.services import find_service

loadtest_cli = Commands("loadtest", help="The load test's set-up and its count (load-test mode only).")
CHANNEL_PREFIX = "loadtest-"
ACTOR = "cli:loadtest"


def _load_test_mode() -> None:
    if not current_app.config["LOAD_TEST"]:
        raise click.ClickException("only in load-test mode (BACKOFFICE_LOAD_TEST=1)")


@loadtest_cli.command("prepare")
@click.option("--reviewers", default=40, show_default=True, type=click.IntRange(min=1))
@click.option("--channels", default=40, show_default=True, type=click.IntRange(min=1),
              help="Channels applying through the API, a key each (their rate limits are per key).")
@click.option("--queries", default=5000, show_default=True, type=click.IntRange(min=1),
              help="Orders whose agent may ask the order query.")
@click.option("--password", required=True, help="The load reviewers' password.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def prepare(reviewers: int, channels: int, queries: int, password: str, out: Path) -> None:
    """Reviewer accounts with their TOTP secrets, channels with fresh API keys, and the credit
    codes and agent phones of orders to query, written as JSON for the load scripts."""
    _load_test_mode()
    accounts = []
    for index in range(1, reviewers + 1):
        username = f"load-reviewer-{index}"
        staff = db.session.scalar(select(Staff).where(Staff.username == username)) or staff_accounts.create_staff(
            db.session, username=username, display_name=f"压测审核员 {index}", role=StaffRole.REVIEWER,
            password=password, email=None, actor=ACTOR)
        secret = staff_accounts.start_enrolment(staff)
        staff.totp_confirmed_at = utcnow()
        accounts.append({"username": username, "totp_secret": secret})
    keys = []
    for index in range(1, channels + 1):
        code = f"{CHANNEL_PREFIX}{index}"
        channel = db.session.scalar(select(Channel).where(Channel.code == code))
        if channel is None:
            channel, key = catalogue.create_channel(db.session, f"压测渠道 {index}", code)
        else:
            key = channel.issue_api_key()
        keys.append(key)
    rows = db.session.execute(
        select(Organisation.credit_code, func.min(Order.id)).join(Order, Order.organisation_id == Organisation.id)
        .where(Order.cert_kind == CertKind.UNIT, Order.status != OrderStatus.CANCELLED)
        .group_by(Organisation.credit_code).limit(queries)).all()
    orders = {order.id: order for order in db.session.scalars(select(Order).where(Order.id.in_([r[1] for r in rows])))}
    targets = [{"credit_code": code, "phone": orders[order_id].agent.phone} for code, order_id in rows]
    db.session.flush()
    out.write_text(json.dumps({"reviewers": accounts, "api_keys": keys, "queries": targets}, ensure_ascii=False))
    click.echo(f"{len(accounts)} reviewers, {len(keys)} channels, {len(targets)} order-query targets -> {out}")


@loadtest_cli.command("verify")
@click.argument("accepted", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify(accepted: Path) -> None:
    """Each submission the scripts were told was accepted (one JSON object a line: number,
    credit_code, kinds uploaded) is one order in the database, with each of its files in the
    document store, whole. Prints `accepted`, `lost` and `duplicated`."""
    _load_test_mode()
    store = find_service(DocumentStore)
    records = [json.loads(line) for line in accepted.read_text().splitlines() if line.strip()]
    lost = duplicated = 0
    for record in records:
        orders = db.session.scalars(select(Order).join(Organisation, Order.organisation_id == Organisation.id)
                                    .where(Organisation.credit_code == record["credit_code"])).all()
        duplicated += max(len(orders) - 1, 0)
        order = next((o for o in orders if o.number == record["number"]), None)
        if order is None or not _files_whole(store, order, record.get("kinds", [])):
            lost += 1
            click.echo(f"lost: {record['number']} ({record['credit_code']})", err=True)
    click.echo(f"accepted: {len(records)}")
    click.echo(f"lost: {lost}")
    click.echo(f"duplicated: {duplicated}")


def _files_whole(store: DocumentStore, order: Order, kinds: list[str]) -> bool:
    current = {kind.value: material for kind, material in current_materials(db.session, order).items()}
    for kind in kinds:
        material = current.get(kind)
        if material is None:
            return False
        try:
            content = store.read(material.stored_name)
        except Exception:  # noqa: BLE001 - a file missing or broken is what this counts
            return False
        if hashlib.sha256(content).hexdigest() != material.sha256:
            return False
    return True
