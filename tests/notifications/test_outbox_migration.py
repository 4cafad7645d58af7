"""The migration that brought retries reads the rows the old outbox left: e-mails not sent are
due again, SMS without template codes are closed, transfers whose outcome nobody knows are left
to a person (on SQLite and on PostgreSQL)."""
from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from tests import factories
from tests.conftest import migrated_app
from tests.databases import own_database
from web.extensions import db

BEFORE = "9c318709d5e5"
AT = "2026-12-01 10:00:00"


@pytest.fixture
def legacy(tmp_path, tmp_path_factory, database_url):
    """A database holding an order, migrated back to before the retries, with the old outbox's rows."""
    with own_database(tmp_path, database_url) as url:
        app = migrated_app(tmp_path_factory, url)
        with app.app_context():
            order_id = factories.paid_order(db.session, app.config["UPLOAD_FOLDER"]).id
            db.session.commit()
            downgrade(revision=BEFORE)
            for status, template in (("sent", "review_approved"), ("failed", "certificate_password"),
                                     ("queued", "order_signature")):
                db.session.execute(text("INSERT INTO sms_message (phone, template, body, carries_secret, status, "
                                        "created_at) VALUES ('13700007777', :t, '…', false, :s, :at)"),
                                   {"t": template, "s": status, "at": AT})
            for status in ("sent", "failed", "queued"):
                db.session.execute(text("INSERT INTO email_message (to_address, subject, template, body, status, "
                                        "created_at) VALUES ('a@example.com', 's', 't', 'b', :s, :at)"),
                                   {"s": status, "at": AT})
                db.session.execute(text("INSERT INTO bank_transfer (order_id, account_name, account_number, "
                                        "bank_name, amount_cents, memo, status, error, created_at) "
                                        "VALUES (:o, 'n', :x, 'b', 1, :x, :s, :e, :at)"),
                                   {"o": order_id, "x": b"\x00", "s": status, "at": AT,
                                    "e": "bank timeout" if status == "failed" else None})
            db.session.commit()
            upgrade()
            yield db.session
            db.session.remove()
            db.engine.dispose()


def _rows(session, sql: str) -> list[tuple]:
    return [tuple(row) for row in session.execute(text(sql))]


def test_old_e_mails_not_sent_are_due_again(legacy):
    assert _rows(legacy, "SELECT status, attempts, next_attempt_at IS NULL FROM email_message ORDER BY id") == [
        ("sent", 1, True), ("queued", 1, False), ("queued", 0, False)]


def test_old_sms_not_sent_are_closed_a_code_s_as_expired(legacy):
    assert _rows(legacy, "SELECT template, status, attempts, next_attempt_at IS NULL FROM sms_message ORDER BY id") == [
        ("review_approved", "sent", 1, True), ("certificate_password", "failed", 1, True),
        ("order_signature", "expired", 0, True)]


def test_old_transfers_not_sent_are_left_to_a_person_with_a_request_number_of_their_own(legacy):
    rows = _rows(legacy, "SELECT id, request_no, status, error, next_attempt_at IS NULL FROM bank_transfer ORDER BY id")
    assert [(request_no, status, error, due) for _, request_no, status, error, due in rows] == [
        (f"legacy-{rows[0][0]}", "sent", None, True), (f"legacy-{rows[1][0]}", "unknown", "bank timeout", True),
        (f"legacy-{rows[2][0]}", "unknown", "not sent by the old outbox: the bank may have made it", True)]
