"""`flask --app wsgi audit seal / verify / acknowledge-restore`, as an operator runs them on a real database."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update

from models import AuditChainHead, AuditEntry, record
from models.audit_chain import Anchor, head_mac
from tests.databases import own_app
from tests.models.test_audit_chain import KEY, allow_tampering
from web.extensions import db


@pytest.fixture
def audit_app(tmp_path, tmp_path_factory, database_url):
    """An app on a database of its own whose commits are real, so its heads reach its own anchor."""
    with own_app(tmp_path, tmp_path_factory, database_url) as app:
        yield app


def _write(app, n: int) -> None:
    """n entries, each committed on its own (as n requests would)."""
    with app.app_context():
        for i in range(n):
            record(db.session, "staff:tester", "test.event", after={"i": i})
            db.session.commit()


def _head(app):
    with app.app_context():
        return db.session.execute(select(AuditChainHead.seq, AuditChainHead.entry_hash, AuditChainHead.mac)).one()


def test_verify_names_the_first_bad_entry_and_exits_non_zero(audit_app):
    runner = audit_app.test_cli_runner()
    _write(audit_app, 3)
    unsealed = runner.invoke(args=["audit", "verify"])
    assert unsealed.exit_code == 1 and "never sealed" in unsealed.output
    assert "sealed entry 3" in runner.invoke(args=["audit", "seal"]).output
    intact = runner.invoke(args=["audit", "verify"])
    assert intact.exit_code == 0 and "audit log intact" in intact.output
    with audit_app.app_context():  # a DBA edits entry 2 behind the application's back
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only"))
        else:
            db.session.execute(text("DROP TRIGGER audit_entry_no_update"))
        db.session.execute(text("UPDATE audit_entry SET actor = 'staff:someone-else' WHERE seq = 2"))
        db.session.commit()
    tampered = runner.invoke(args=["audit", "verify"])
    assert tampered.exit_code == 1
    assert "first bad: entry seq 2" in tampered.output and "changed" in tampered.output


def _restore_backup(app, backup) -> None:
    """What restoring the backup taken at `backup` does to the chain: later rows gone, its head back."""
    with app.app_context():
        allow_tampering(db.session)
        db.session.execute(delete(AuditEntry).where(AuditEntry.seq > backup.seq))
        db.session.execute(update(AuditChainHead).values(seq=backup.seq, entry_hash=backup.entry_hash,
                                                         mac=backup.mac))
        db.session.commit()


def test_an_honest_restore_is_acknowledged_and_verifies_again(audit_app):
    runner = audit_app.test_cli_runner()
    anchor = Anchor(audit_app.config["AUDIT_ANCHOR_PATH"])
    _write(audit_app, 2)
    assert runner.invoke(args=["audit", "seal"]).exit_code == 0
    backup = _head(audit_app)
    _write(audit_app, 2)
    assert [line.split(" ")[:2] for line in anchor.lines()] == [["head", "1"], ["head", "2"], ["head", "3"],
                                                                ["head", "4"]]
    _restore_backup(audit_app, backup)

    cut_off = runner.invoke(args=["audit", "verify"])
    assert cut_off.exit_code == 1
    assert "first bad: entry seq 3: missing: anchor line 4 names entry 4, the chain ends at 2" in cut_off.output
    acknowledged = runner.invoke(args=["audit", "acknowledge-restore"])
    assert acknowledged.exit_code == 0, acknowledged.output
    assert acknowledged.output == ("restore acknowledged as entry 3: chain restored to entry 2, "
                                   "2 anchored head(s) up to entry 4 dropped\n")
    assert runner.invoke(args=["audit", "verify"]).output == "audit log intact\n"
    with audit_app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.seq == 3)).one()
        assert (entry.actor, entry.action, entry.after) == (
            "cli", "audit.restore_acknowledged", {"head_seq": 2, "head_hash": backup.entry_hash, "dropped": 2})
    assert [line.split(" ")[:2] for line in anchor.lines()[4:]] == [["restore", "2"], ["head", "3"]]

    _write(audit_app, 1)
    assert runner.invoke(args=["audit", "verify"]).output == "audit log intact\n"
    again = runner.invoke(args=["audit", "acknowledge-restore"])
    assert again.exit_code == 0 and again.output.startswith("nothing to acknowledge")


def test_acknowledge_restore_refuses_a_database_that_is_no_earlier_state_of_the_chain(audit_app):
    runner = audit_app.test_cli_runner()
    anchor = Anchor(audit_app.config["AUDIT_ANCHOR_PATH"])
    _write(audit_app, 2)
    # The anchor of another chain, or of this one before entry 1 was rewritten: another entry 1, and later heads.
    other = "f" * 64
    for seq in (1, 3):
        anchor.append_head(seq, other, head_mac(KEY, seq, other))
    refused = runner.invoke(args=["audit", "acknowledge-restore"])
    assert refused.exit_code == 1
    assert ("refused: entry seq 1: differs from the head anchored at line 3: the database is not an earlier "
            "state of the anchored chain") in refused.output
    assert len(anchor.lines()) == 4 and _head(audit_app).seq == 2
    verified = runner.invoke(args=["audit", "verify"])
    assert "first bad: entry seq 1: differs from the head anchored at line 3" in verified.output
