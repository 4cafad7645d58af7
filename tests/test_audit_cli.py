"""`flask --app wsgi audit seal / verify`, as an operator runs them on a real database."""
from __future__ import annotations

from sqlalchemy import text

from backoffice.extensions import db
from models import record
from tests.conftest import migrated_app
from tests.databases import own_database


def test_verify_names_the_first_bad_entry_and_exits_non_zero(tmp_path, tmp_path_factory):
    with own_database(tmp_path) as url:
        app = migrated_app(tmp_path_factory, url)
        try:
            runner = app.test_cli_runner()
            with app.app_context():
                for i in range(3):
                    record(db.session, "staff:tester", "test.event", after={"i": i})
                db.session.commit()
            unsealed = runner.invoke(args=["audit", "verify"])
            assert unsealed.exit_code == 1 and "never sealed" in unsealed.output
            assert "sealed entry 3" in runner.invoke(args=["audit", "seal"]).output
            intact = runner.invoke(args=["audit", "verify"])
            assert intact.exit_code == 0 and "audit log intact" in intact.output
            with app.app_context():  # a DBA edits entry 2 behind the application's back
                if db.engine.dialect.name == "postgresql":
                    db.session.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only"))
                else:
                    db.session.execute(text("DROP TRIGGER audit_entry_no_update"))
                db.session.execute(text("UPDATE audit_entry SET actor = 'staff:someone-else' WHERE seq = 2"))
                db.session.commit()
            tampered = runner.invoke(args=["audit", "verify"])
            assert tampered.exit_code == 1
            assert "first bad: entry seq 2" in tampered.output and "changed" in tampered.output
        finally:
            with app.app_context():
                db.engine.dispose()
