"""The audit log is a hash chain sealed with a key outside the database: any changed,
removed or cut-off row is found, and the database itself refuses updates and deletes."""
from __future__ import annotations

import base64
import datetime as dt

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from models import AuditChainHead, AuditEntry, AuditSeal, record
from models.audit_chain import seal_head, verify
from models.base import utcnow

KEY = base64.b64decode("YXVkaXQtc2VhbC1rZXktZm9yLXRlc3RzLTMyLWJ5dGU=")


def _write(session, n: int, action: str = "test.event") -> list[AuditEntry]:
    entries = [record(session, "staff:tester", action, target=f"thing:{i}", after={"i": i, "名": "值"})
               for i in range(n)]
    session.flush()
    return entries


def _allow_tampering(session) -> None:
    """What a DBA with full rights could do: switch the append-only triggers off."""
    if session.bind.dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only"))
    else:
        session.execute(text("DROP TRIGGER audit_entry_no_update"))
        session.execute(text("DROP TRIGGER audit_entry_no_delete"))


def _problems(session, **kwargs) -> list[str]:
    return [str(p) for p in verify(session, KEY, **kwargs)]


def test_entries_link_in_order_and_a_sealed_chain_verifies(db_session):
    entries = _write(db_session, 5)
    seqs = [e.seq for e in entries]
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    assert all(b.prev_hash == a.entry_hash for a, b in zip(entries, entries[1:], strict=False))
    head = db_session.get(AuditChainHead, 1)
    assert (head.seq, head.entry_hash) == (entries[-1].seq, entries[-1].entry_hash)
    seal_head(db_session, KEY)
    assert _problems(db_session) == []


def test_a_changed_row_is_named(db_session):
    entries = _write(db_session, 4)
    seal_head(db_session, KEY)
    _allow_tampering(db_session)
    db_session.execute(update(AuditEntry).where(AuditEntry.id == entries[1].id).values(note="edited"))
    problems = _problems(db_session)
    assert problems[0] == f"entry seq {entries[1].seq} (id {entries[1].id}): was changed after it was written"


def test_a_removed_row_leaves_a_gap(db_session):
    entries = _write(db_session, 4)
    seal_head(db_session, KEY)
    _allow_tampering(db_session)
    db_session.execute(delete(AuditEntry).where(AuditEntry.id == entries[2].id))
    problems = _problems(db_session)
    assert problems[0].startswith(f"entry seq {entries[2].seq}: missing")


def test_cutting_off_the_newest_rows_is_caught_by_the_seal(db_session):
    entries = _write(db_session, 4)
    seal_head(db_session, KEY)
    _allow_tampering(db_session)
    # Remove the last two rows and rewrite the head so the chain itself looks whole.
    db_session.execute(delete(AuditEntry).where(AuditEntry.id.in_([entries[2].id, entries[3].id])))
    db_session.execute(update(AuditChainHead).values(seq=entries[1].seq, entry_hash=entries[1].entry_hash))
    problems = _problems(db_session)
    assert len(problems) == 1
    assert problems[0].startswith(f"entry seq {entries[3].seq}: seal")
    assert "cut off" in problems[0]


def test_a_forged_seal_is_caught(db_session):
    _write(db_session, 2)
    seal = seal_head(db_session, KEY)
    db_session.execute(update(AuditSeal).where(AuditSeal.id == seal.id).values(head_seq=seal.head_seq - 1))
    db_session.expire_all()
    assert any("forged or was changed" in p for p in _problems(db_session))


def test_a_seal_made_with_another_key_is_caught(db_session):
    _write(db_session, 1)
    seal_head(db_session, b"x" * 32)
    assert any("another key" in p for p in _problems(db_session))


def test_a_chain_left_unsealed_is_reported(db_session):
    _write(db_session, 1)
    seal_head(db_session, KEY, now=utcnow() - dt.timedelta(hours=30))
    assert any("not sealed within" in p for p in _problems(db_session))
    seal_head(db_session, KEY)
    assert _problems(db_session) == []


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_the_database_refuses_to_change_or_delete_entries(db_session, statement):
    entry = _write(db_session, 1)[0]
    change = (update(AuditEntry).where(AuditEntry.id == entry.id).values(note="x") if statement == "update"
              else delete(AuditEntry).where(AuditEntry.id == entry.id))
    with pytest.raises(DBAPIError, match="append-only"):
        with db_session.begin_nested():
            db_session.execute(change)
    assert db_session.scalar(select(AuditEntry.note).where(AuditEntry.id == entry.id)) is None
