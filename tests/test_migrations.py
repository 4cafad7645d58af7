"""Every migration upgrades and downgrades on the database under test."""
from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from backoffice import create_app
from tests.conftest import config_for_tests
from tests.databases import own_database


@pytest.fixture
def empty_database_url(tmp_path, database_url):
    with own_database(tmp_path, database_url) as url:
        yield url


def test_upgrade_downgrade_upgrade(tmp_path_factory, empty_database_url):
    app = create_app(config_for_tests(tmp_path_factory, empty_database_url))
    with app.app_context():
        from web.extensions import db

        upgrade()
        assert {"order", "organisation", "person", "material", "sms_code", "audit_entry"} <= set(
            inspect(db.engine).get_table_names())
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "order" in inspect(db.engine).get_table_names()
        db.engine.dispose()
