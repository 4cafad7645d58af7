"""The anchor as real commits fill it, on databases of their own: a committed head is appended,
a rolled-back one never, and writers committing at once each append theirs."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models import AuditChainHead, record
from models.audit_chain import Anchor, head_mac, seal_head, verify
from tests.databases import at_once, own_app
from tests.models.test_audit_chain import KEY
from web.extensions import db


@pytest.fixture
def audit_app(tmp_path, tmp_path_factory, database_url):
    with own_app(tmp_path, tmp_path_factory, database_url) as app:
        yield app


def _head(session):
    return session.execute(select(AuditChainHead.seq, AuditChainHead.entry_hash, AuditChainHead.mac)).one()


def test_a_committed_head_is_anchored_and_a_rolled_back_one_never(audit_app):
    anchor = Anchor(audit_app.config["AUDIT_ANCHOR_PATH"])
    with audit_app.app_context():
        record(db.session, "staff:tester", "test.event")
        db.session.flush()
        db.session.rollback()
        assert anchor.lines() == []
        record(db.session, "staff:tester", "test.event")
        record(db.session, "staff:tester", "test.event")
        db.session.flush()
        record(db.session, "staff:tester", "test.event")
        db.session.commit()
        head = _head(db.session)
        # One line per commit, for the head the transaction left.
        assert anchor.lines() == [f"head 3 {head.entry_hash} {head_mac(KEY, 3, head.entry_hash)}"]
        with pytest.raises(LookupError), db.session.begin_nested():
            record(db.session, "staff:tester", "test.event")
            db.session.flush()
            raise LookupError("the savepoint rolls back")
        db.session.commit()
        record(db.session, "staff:tester", "test.event")
        db.session.flush()
        db.session.rollback()
        assert len(anchor.lines()) == 1
        record(db.session, "staff:tester", "test.event")
        db.session.commit()
        assert [line.split(" ")[1] for line in anchor.lines()] == ["3", "4"]


def test_writers_committing_at_once_each_anchor_their_head(audit_app):
    anchor = Anchor(audit_app.config["AUDIT_ANCHOR_PATH"])

    def write(i: int):
        def call():
            with audit_app.app_context():
                record(db.session, "staff:tester", "test.event", after={"i": i})
                db.session.commit()
        return call

    at_once([write(i) for i in range(8)])
    assert sorted(int(line.split(" ")[1]) for line in anchor.lines()) == list(range(1, 9))
    with audit_app.app_context():
        seal_head(db.session, KEY)
        assert list(verify(db.session, KEY, anchor=anchor)) == []
        db.session.rollback()
