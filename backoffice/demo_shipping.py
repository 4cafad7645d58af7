"""What the station leaves on the demo orders whose key was programmed: the password card number (from
the real counter, so later cards carry on after them) and, once shipped, the parcel, delivered when the
order is completed. demo_data puts them into its rows; the audit history already has the status changes."""
from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from types import SimpleNamespace

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.demo_plans import Plan, S
from fulfillment.shipping import address_of
from models import Courier, Shipment, ShipmentStatus
from models.business_time import BUSINESS_TZ
from models.fulfillment import PasswordCardSequence
from models.order_number import take_next

CARD_PRINTED_AFTER = (60, 900)  # seconds after programming: the card is printed at the station, then packed
_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def take_card_numbers(session: Session, plans: list[Plan]) -> list[str | None]:
    """The card number of each plan whose key was programmed (None for the others), numbered per
    Beijing-time year in programming order from PasswordCardSequence, which is moved on past them."""
    programmed = sorted((p.first[S.PROGRAMMED], i) for i, p in enumerate(plans) if S.PROGRAMMED in p.first)
    years = Counter(at.astimezone(BUSINESS_TZ).year for at, _ in programmed)
    following = {}
    for year, count in sorted(years.items()):
        last = take_next(session, PasswordCardSequence, count, year=year)
        if last > 999_999:
            raise click.ClickException(f"more than 999,999 password cards in {year}")
        following[year] = last - count + 1
    cards: list[str | None] = [None] * len(plans)
    for at, i in programmed:
        year = at.astimezone(BUSINESS_TZ).year
        cards[i] = f"MK{year}{following[year]:06d}"  # as models.next_password_card_number writes it
        following[year] += 1
    return cards


def _s10_check(serial: str) -> str:
    """The check digit of a UPU S10 item number (EMS): 8 digits weighted, modulo 11."""
    check = 11 - sum(int(d) * w for d, w in zip(serial, _S10_WEIGHTS, strict=True)) % 11
    return {10: "0", 11: "5"}.get(check, str(check))


class Parcels:
    """Parcel rows for shipped plans: the courier, a tracking number no parcel of that courier has, and the
    address the order gives. Draws come from their own generator, so the rest of the demo stays the same."""

    def __init__(self, session: Session, rng: random.Random, shipper_known: bool):
        self.random = rng.random
        self.couriers = session.execute(select(Courier.id, Courier.code).where(Courier.active)
                                        .order_by(Courier.id)).all()
        self.taken: dict[int, set[str]] = {courier_id: set() for courier_id, _ in self.couriers}
        for courier_id, number in session.execute(select(Shipment.courier_id, Shipment.tracking_number)):
            self.taken.setdefault(courier_id, set()).add(number)
        self.missing = "no active courier" if not self.couriers else \
            None if shipper_known else "no active staff to ship them"
        self.skipped = 0

    def card_printed_at(self, programmed_at: dt.datetime, shipped_at: dt.datetime) -> dt.datetime:
        """A few minutes after programming, and never after the parcel left."""
        return min(programmed_at + dt.timedelta(seconds=CARD_PRINTED_AFTER[0] + self.random() * (
            CARD_PRINTED_AFTER[1] - CARD_PRINTED_AFTER[0])), shipped_at)

    def _digits(self, n: int) -> str:
        return f"{int(self.random() * 10**n):0{n}d}"

    def _tracking_number(self, code: str) -> str:
        if code == "shunfeng":
            return "SF" + self._digits(12)
        if code == "ems":  # E, a letter, 8 digits, their check digit, CN (a China Post S10 number)
            serial = self._digits(8)
            return f"E{chr(65 + int(self.random() * 26))}{serial}{_s10_check(serial)}CN"
        if code == "jd":
            return "JD" + self._digits(12)
        return code[:2].upper() + self._digits(12)

    def row(self, plan: Plan, order: dict, shipper_id: int | None, recipient: str, phone: str | None) -> dict | None:
        """The parcel of a plan that reached SHIPPED, as the station and the tracking service leave it."""
        if self.missing or shipper_id is None:
            self.skipped += 1
            return None
        courier_id, code = self.couriers[int(self.random() * len(self.couriers))]
        taken = self.taken[courier_id]
        number = self._tracking_number(code)
        while number in taken:
            number = self._tracking_number(code)
        taken.add(number)
        delivered_at = plan.first.get(S.COMPLETED)
        return {"order_id": order["id"], "courier_id": courier_id, "tracking_number": number,
                "status": ShipmentStatus.DELIVERED if delivered_at else ShipmentStatus.IN_TRANSIT,
                "shipped_at": plan.first[S.SHIPPED], "shipped_by_id": shipper_id, "recipient": recipient,
                "phone": phone or "", "address": address_of(SimpleNamespace(
                    mailing_province=order["mailing_province"], mailing_city=order["mailing_city"],
                    mailing_address=order["mailing_address"]))[:255],
                "delivered_at": delivered_at, "confirmed_by": f"courier:{code}" if delivered_at else None,
                "returned_at": None, "return_reason": None, "last_checked_at": delivered_at}
