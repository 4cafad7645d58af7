"""A back office with its CA on a database of its own (committed: the signing service, served from a
thread, reads it over its own connection), a station with a credential, and approved paid orders."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from issuance import ceremony, store
from issuance.settings import CaSettings
from issuance.signing_app import create_signing_app
from models import Base, Order, OrderStatus, StaffRole, Station
from station import credentials
from tests import factories
from tests.conftest import add_staff, sign_in
from tests.databases import own_database
from tests.serving import served
from web.database import write_lock
from web.extensions import db


@pytest.fixture(scope="session")
def station_app(tmp_path_factory, database_url):
    from tests.conftest import migrated_app

    with own_database(tmp_path_factory.mktemp("station-db"), database_url) as url:
        app = migrated_app(tmp_path_factory, url)
        app.config.update(CA_SIGNER="keyfile", CA_KEY_FOLDER=str(tmp_path_factory.mktemp("station-ca")),
                          CA_PUBLIC_URL="http://ca.example.test")
        with app.app_context():
            officers = [factories.staff(db.session, StaffRole.ADMIN, "st-admin"),
                        factories.staff(db.session, StaffRole.SENIOR_REVIEWER, "st-senior")]
            ceremony.hold_ceremony(db.session, CaSettings.from_config(app.config), officers)
            db.session.commit()
        sessions = store.make_sessions(app.config)
        try:
            with served(create_signing_app(app.config, sessions)) as signing_url:
                app.config["SIGNING_SERVICE_URL"] = signing_url
                yield app
        finally:
            sessions.kw["bind"].dispose()
            with app.app_context():
                db.engine.dispose()


@pytest.fixture
def client(station_app):
    return station_app.test_client()


@pytest.fixture
def fulfillment(client, committed):
    """A fulfillment staff member signed in on `client`."""
    staff = committed(lambda session: add_staff(session, StaffRole.FULFILLMENT))
    assert sign_in(client, staff).status_code == 302
    return staff


@pytest.fixture
def committed(station_app):
    """committed(fn) -> fn(session)'s result, run in the app and committed. Its transaction takes SQLite's
    write lock at BEGIN, as the app's writing requests do: a transaction that read first and then writes
    would fail at once ("database is locked") when the live agent's requests wrote in between."""
    def run(work):
        with station_app.app_context(), write_lock():
            result = work(db.session)
            db.session.flush()
            if isinstance(result, Base):
                db.session.expunge(result)  # kept readable after the commit (a snapshot)
            db.session.commit()
            return result

    return run


@pytest.fixture
def approved(committed, station_app):
    """approved(**overrides) -> the number of a new approved, paid order (committed)."""
    def make(**overrides) -> str:
        def work(session):
            order = factories.payment(session, station_app.config["UPLOAD_FOLDER"], **overrides).order
            order.move_to(OrderStatus.IN_REVIEW, "staff:test")
            order.certificate_password = "Pw" + uuid.uuid4().hex[:8]
            order.move_to(OrderStatus.APPROVED, "staff:test")
            session.flush()
            return order.number

        return committed(work)

    return make


@pytest.fixture
def station_credential(committed):
    """(station name, credential) of a new station."""
    def work(session):
        admin = factories.staff(session, StaffRole.ADMIN, f"adm-{uuid.uuid4().hex[:6]}")
        station = Station(name=f"st-{uuid.uuid4().hex[:6]}")
        session.add(station)
        session.flush()
        return station.name, credentials.issue(session, station, admin)

    return committed(work)


def order_of(session, number: str) -> Order:
    return session.scalars(select(Order).where(Order.number == number)).one()
