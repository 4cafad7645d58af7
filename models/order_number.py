"""Order numbers: date + U (unit) or P (personal) + a daily sequence, e.g. 20261125U000123."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, String, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, insert_for, utcnow
from models.business_time import BUSINESS_TZ
from models.order_state import CertKind


class OrderSequence(Base):
    """The last number handed out per business day and certificate kind."""

    __tablename__ = "order_sequence"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    letter: Mapped[str] = mapped_column(String(1), primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


def next_order_number(
    session: Session, kind: CertKind, now: dt.datetime | None = None
) -> str:
    day = (now or utcnow()).astimezone(BUSINESS_TZ).date()
    letter = kind.order_letter
    return format_order_number(day, letter, take_next(session, OrderSequence, day=day, letter=letter))


def format_order_number(day: dt.date, letter: str, sequence: int) -> str:
    return f"{day:%Y%m%d}{letter}{sequence:06d}"


def take_next(session: Session, counter: type[Base], count: int = 1, **key) -> int:
    """Count `count` up on the counter row with this key (made at 0 if missing) and return the
    last number taken. The row lock of the UPDATE keeps two transactions apart; a rollback gives
    the numbers back."""
    session.execute(insert_for(session, counter).values(**key, last=0).on_conflict_do_nothing(index_elements=list(key)))
    columns = counter.__table__.c
    return session.execute(
        update(counter)
        .where(*(columns[name] == value for name, value in key.items()))
        .values(last=columns.last + count)
        .returning(columns.last)
    ).scalar_one()
