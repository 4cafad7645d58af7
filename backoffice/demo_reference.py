"""What the demo applications refer to and the numbers they take: the catalogue (channels, products,
prices, key models, staff, SLA policies) read once, order numbers taken from the counter other writers
use, and row ids reserved ahead (backoffice.demo_data builds every row in one pass with them)."""
from __future__ import annotations

from collections import Counter

import click
from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

from backoffice.demo_plans import SCENARIOS, Plan
from models import (
    REVIEW_ROLES,
    BusinessType,
    Channel,
    ChannelProduct,
    MediaModel,
    OrderSequence,
    Price,
    Product,
    RejectionReason,
    Staff,
    StaffRole,
)
from models.business_time import BUSINESS_TZ
from models.order_number import format_order_number, take_next
from models.order_state import CertKind
from public.catalogue import choose_price
from review import sla


class Catalogue:
    """What the orders refer to: channels, products, prices, key models, staff, SLA policies."""

    def __init__(self, session: Session):
        channels = session.execute(select(Channel.id, Channel.code).where(Channel.active).order_by(Channel.id)).all()
        kinds = dict(session.execute(select(Product.id, Product.cert_kind).where(Product.active)
                                     .order_by(Product.id)).all())
        restricted: dict[int, list[int]] = {}
        for channel_id, product_id in session.execute(select(ChannelProduct.channel_id, ChannelProduct.product_id)):
            restricted.setdefault(channel_id, []).append(product_id)
        # The products of each kind each channel offers (a channel without a personal one sells units only).
        self.offers = {(cid, kind): [p for p in restricted.get(cid, kinds) if kinds.get(p) is kind]
                       for cid, _ in channels for kind in CertKind}
        # The channels selling each kind, with their weights: most applications come in directly.
        self.channels = {kind: [(cid, 0.7 if code == "direct" else 0.3) for cid, code in channels
                                if self.offers[(cid, kind)]] for kind in CertKind}
        if not self.channels[CertKind.UNIT]:
            raise click.ClickException("no active unit-certificate product: run `flask --app wsgi demo load` first")
        self.media = [(None, 0)] + session.execute(
            select(MediaModel.id, MediaModel.price_cents).where(MediaModel.active).order_by(MediaModel.id)).all()
        self.prices = {(p.product_id, p.channel_id, p.business_type): p.amount_cents
                       for p in session.scalars(select(Price))}
        review_staff = select(Staff.id, Staff.username).where(Staff.active, Staff.role.in_(REVIEW_ROLES))
        self.reviewers = session.execute(review_staff.order_by(Staff.id)).all()
        self.station = session.execute(select(Staff.id, Staff.username).where(
            Staff.active, Staff.role == StaffRole.FULFILLMENT).order_by(Staff.id)).all()
        # Parcels need someone who shipped them: without station staff, any active account.
        self.any_staff = session.scalar(select(Staff.id).where(Staff.active).order_by(Staff.id).limit(1))
        self.reasons = session.execute(select(RejectionReason.id, RejectionReason.text_zh).where(
            RejectionReason.active).order_by(RejectionReason.position)).all()
        self.calendar = sla.load_calendar(session)
        self.policies = {(bt, kind): sla.policy_for(session, bt, kind)
                         for bt in {s.business_type for s in SCENARIOS} for kind in CertKind}

    def price(self, product_id: int, channel_id: int, business_type: BusinessType, media_cents: int) -> int:
        """The product's pricing rule on the prices loaded once."""
        try:
            return choose_price(self.prices, product_id, channel_id, business_type, media_cents)
        except LookupError as exc:
            raise click.ClickException(f"{exc}: add it in the admin, or run `flask --app wsgi demo load`") from exc


# --- numbers and ids that other writers must not get too -----------------------------------

def take_order_numbers(session: Session, plans: list[Plan]) -> None:
    """Number the plans in creation order from OrderSequence, which is moved on past them."""
    days = Counter((p.created_at.astimezone(BUSINESS_TZ).date(), p.cert_kind.order_letter) for p in plans)
    following = {}
    for (day, letter), count in sorted(days.items()):
        last = take_next(session, OrderSequence, count, day=day, letter=letter)
        if last > 999_999:
            raise click.ClickException(f"more than 999,999 orders on {day}")
        following[(day, letter)] = last - count + 1
    for plan in plans:
        key = (plan.created_at.astimezone(BUSINESS_TZ).date(), plan.cert_kind.order_letter)
        plan.number = format_order_number(*key, following[key])
        following[key] += 1


def reserve_ids(session: Session, table: Table, n: int) -> list[int]:
    """Ids for n new rows that no concurrent writer can take.

    Knowing the ids up front lets one pass build every row; RETURNING ids measured slower.
    """
    if session.get_bind().dialect.name == "postgresql":
        return sorted(session.scalars(text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) "
                                           "FROM generate_series(1, :n)"), {"t": f'"{table.name}"', "n": n}))
    # SQLite has one writer: this transaction holds the lock since it took the order numbers.
    last = session.scalar(select(func.coalesce(func.max(table.c.id), 0)))
    return list(range(last + 1, last + n + 1))
