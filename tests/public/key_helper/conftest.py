"""The station's back office (its own database, the signing service served from a thread), a key
programmed there and in the applicant's hands: what the key helper works on."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from issuance.certificates import to_pem
from models import Certificate, Order, OrderStatus, Token, TokenState
from models.base import utcnow
from tests import factories
from tests.station.conftest import (  # noqa: F401  (the station's fixtures)
    approved,
    client,
    committed,
    fulfillment,
    station_app,
    station_credential,
)
from tests.station.fake_agent import FakeAgent
from tests.station.test_api import blank, serial, start


@pytest.fixture
def worker_round_station(station_app):  # noqa: F811
    return lambda: factories.worker_round(station_app)


@pytest.fixture
def key_in_use(client, committed, fulfillment, approved, station_credential):  # noqa: F811
    """key_in_use(days_left=30, number=None) -> (serial, certificate PEM, private key): a key programmed at the
    station (by the fake agent) for the approved order `number` (a new unit order's by default), shipped and
    in use, its certificate ending `days_left` days from now (the register's end date, what the renewal
    window reads)."""
    def make(days_left: int = 30, number: str | None = None):
        name, credential = station_credential
        key = serial()
        agent = FakeAgent(client, credential, [blank(key)])
        agent.poll()
        start(client, committed, name, number or approved(), key)
        job = agent.job()
        finished = agent.run(job)
        assert finished.status_code == 200

        def ship(session):
            token = session.scalars(select(Token).where(Token.serial == key)).one()
            token.move_to(TokenState.SHIPPED, "staff:test")
            token.move_to(TokenState.ACTIVE, "staff:test")
            order = session.get(Order, token.order_id)
            order.move_to(OrderStatus.SHIPPED, "staff:test")
            order.move_to(OrderStatus.COMPLETED, "staff:test")
            certificate = session.scalars(select(Certificate).where(Certificate.media_serial == key)).one()
            certificate.not_after = utcnow() + dt.timedelta(days=days_left)
            return certificate.serial_number
        committed(ship)
        der = committed(lambda s: s.scalars(select(Certificate).where(Certificate.media_serial == key)).one().der)
        return key, to_pem(der), agent.key
    return make


