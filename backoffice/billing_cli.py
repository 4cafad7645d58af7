"""Scheduled billing commands: `billing cancel-unpaid` (hourly) and `billing sweep` (every few
minutes). Each order is its own transaction, so one failure does not hold up the rest."""
from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable

import click

from billing import checkout, invoices, reconciliation, refunds, sweep
from billing.issuers import IssuerError
from billing.payments.interfaces import PaymentProvider, ProviderError
from billing.services import BillingError, current_services
from models import Order, Refund
from models.base import utcnow
from models.business_time import BUSINESS_TZ
from public import payments
from web.commands import Commands
from web.edge import unit_of_work
from web.extensions import db
from web.services import find_service

billing_cli = Commands("billing", help="Payments, refunds and invoices.")


def _each(ids: list[int], work: Callable[[int], object]) -> tuple[list, int]:
    """Run `work` per id in its own transaction; its answers, and the count of failures (an
    exception, or a falsy answer such as a refund the provider did not take)."""
    done, failed = [], 0
    for row_id in ids:
        try:
            with unit_of_work():
                result = work(row_id)
        except (BillingError, IssuerError) as exc:
            failed += 1
            click.echo(f"  {row_id}: {exc}", err=True)
            continue
        if result:
            done.append(result)
        else:
            failed += 1
            click.echo(f"  {row_id}: not done", err=True)
    return done, failed


@billing_cli.command("cancel-unpaid")
def cancel_unpaid() -> None:
    """Cancel orders unpaid after the payment window, closing their trades first."""
    services = current_services()
    now = utcnow()
    ids = checkout.overdue_orders(db.session, services, now)
    outcomes, failed = _each(ids, lambda order_id: "cancelled" if payments.cancel_unpaid(
        db.session, services, db.session.get(Order, order_id), now=now) else "found paid")
    click.echo(f"{outcomes.count('cancelled')} order(s) cancelled, {outcomes.count('found paid')} found paid, "
               f"{failed} failed")
    if failed:
        sys.exit(1)


@billing_cli.command("sweep")
def sweep_command() -> None:
    """Send confirmed refunds again and make the invoices the issuer could not make before."""
    services = current_services()
    now = utcnow()
    actor = "system:sweep"
    sent, failed_refunds = _each(sweep.refunds_to_send(db.session), lambda refund_id: refunds.execute_refund(
        db.session, services, db.session.get(Refund, refund_id), actor=actor, now=now))
    blue, failed_blue = _each(sweep.orders_without_invoice(db.session), lambda order_id: invoices.issue_blue_invoice(
        db.session, services, db.session.get(Order, order_id), actor=actor, now=now))
    red, failed_red = _each(sweep.refunded_orders_with_invoice(db.session), lambda order_id: invoices.issue_red_invoice(
        db.session, services, invoices.active_blue_invoice(db.session, db.session.get(Order, order_id)),
        actor=actor, now=now))
    click.echo(f"refunds sent {len(sent)}, invoices issued {len(blue)}, red invoices {len(red)}; "
               f"failed {failed_refunds + failed_blue + failed_red}")
    if failed_refunds + failed_blue + failed_red:
        sys.exit(1)


@billing_cli.command("reconcile")
@click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Beijing business day (default: yesterday).")
def reconcile_command(day: dt.datetime | None) -> None:
    """Compare the provider's bill of a day with our payments and refunds (schedule daily,
    after the provider publishes the bill); exit 1 when anything disagrees."""
    business_day = day.date() if day else (utcnow().astimezone(BUSINESS_TZ).date() - dt.timedelta(days=1))
    try:
        result = reconciliation.reconcile_with_provider(db.session, find_service(PaymentProvider), business_day)
    except (ProviderError, ValueError) as exc:
        raise click.ClickException(f"no reconciliation for {business_day}: {exc}") from exc
    click.echo(f"{business_day}: bill {result.bill_trades} trade(s) {result.bill_trade_cents / 100:.2f} yuan, "
               f"{result.bill_refunds} refund(s); ours {result.our_trades} / {result.our_refunds}; "
               f"matched {result.matched}")
    for mismatch in result.mismatches:
        click.echo(f"  {mismatch.kind}: {mismatch.out_trade_no} ours {mismatch.ours_cents} "
                   f"bill {mismatch.bill_cents} {mismatch.note}")
    if not result.clean:
        sys.exit(1)
