"""Order numbers: date + U/P + a daily sequence no two submissions share."""
from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import delete
from sqlalchemy.orm import Session

from models import CertKind, OrderSequence, next_order_number
from web.extensions import db


def test_format_and_sequence(db_session):
    now = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)
    first = next_order_number(db_session, CertKind.UNIT, now)
    second = next_order_number(db_session, CertKind.UNIT, now)
    personal = next_order_number(db_session, CertKind.PERSONAL, now)
    assert first == "20261125U000001" and second == "20261125U000002"
    assert personal == "20261125P000001"


def test_the_day_is_the_day_in_china(db_session):
    late_evening_utc = dt.datetime(2026, 11, 25, 17, 30, tzinfo=dt.UTC)  # 01:30 in Beijing
    assert next_order_number(db_session, CertKind.UNIT, late_evening_utc).startswith("20261126U")


def test_concurrent_submissions_never_share_a_number(app):
    """Eight threads, each in its own committed transaction, on the real database."""
    day = dt.datetime(2031, 1, 2, 4, 0, tzinfo=dt.UTC)
    with app.app_context():
        engine = db.engine
    numbers: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def take():
        try:
            barrier.wait()
            for _ in range(5):
                with Session(engine) as session, session.begin():
                    numbers.append(next_order_number(session, CertKind.UNIT, day))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert not errors, errors
        assert len(numbers) == 40 and len(set(numbers)) == 40
        assert sorted(numbers)[-1] == "20310102U000040"
    finally:
        with Session(engine) as session, session.begin():
            session.execute(delete(OrderSequence).where(OrderSequence.day == day.date()))
