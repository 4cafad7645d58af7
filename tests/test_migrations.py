"""Every migration upgrades and downgrades on the database under test."""
from __future__ import annotations

import os
import uuid

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from backoffice import create_app
from tests.conftest import config_for_tests


@pytest.fixture
def empty_database_url(tmp_path):
    """A database of its own: a new SQLite file, or a new PostgreSQL database."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_downgrade_upgrade(tmp_path_factory, empty_database_url):
    app = create_app(config_for_tests(tmp_path_factory, empty_database_url))
    with app.app_context():
        from backoffice.extensions import db

        upgrade()
        assert {"order", "organisation", "person", "material", "sms_code", "audit_entry"} <= set(
            inspect(db.engine).get_table_names())
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "order" in inspect(db.engine).get_table_names()
        db.engine.dispose()
