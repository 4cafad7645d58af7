"""The CA's migration goes down and up again on a database holding orders: on SQLite it rebuilds
the product table, which orders refer to."""
from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from models import Order, Product
from tests import factories
from tests.conftest import migrated_app
from tests.databases import own_database
from web.extensions import db

BEFORE = "f57f8f3615d2"


def test_down_and_up_with_orders(tmp_path, tmp_path_factory, database_url):
    with own_database(tmp_path, database_url) as url:
        app = migrated_app(tmp_path_factory, url)
        with app.app_context():
            number = factories.paid_order(db.session, app.config["UPLOAD_FOLDER"]).number
            db.session.commit()
            downgrade(revision=BEFORE)
            assert "profile_id" not in {column["name"] for column in inspect(db.engine).get_columns("product")}
            assert "certificate_profile" not in inspect(db.engine).get_table_names()
            upgrade()
            assert db.session.scalars(select(Order.number)).all() == [number]
            assert set(db.session.scalars(select(Product.profile_id))) == {None}
            if db.engine.dialect.name == "sqlite":  # the checks are on again
                assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
            db.session.remove()
            db.engine.dispose()
