"""The audit log is a hash chain sealed with a key outside the database: any changed,
removed or cut-off row is found, and the database itself refuses updates and deletes.
The tail since the last seal is guarded by the head's MAC and the anchor file."""
from __future__ import annotations

import base64
import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from models import AuditChainHead, AuditEntry, AuditSeal, audit_chain, record
from models.audit_chain import Anchor, RestoreRefused, acknowledge_restore, entry_hash, head_mac, seal_head, verify
from models.base import utcnow

KEY = base64.b64decode("YXVkaXQtc2VhbC1rZXktZm9yLXRlc3RzLTMyLWJ5dGU=")


@pytest.fixture(autouse=True)
def anchor(db_session, tmp_path, monkeypatch) -> Anchor:
    """An anchor of each test's own. Heads of these tests' transactions (rolled back at the end)
    never reach it by themselves, since only a real commit anchors: `_anchor_head` appends what a
    commit would."""
    own = Anchor(tmp_path / "audit-anchor.log")
    monkeypatch.setitem(audit_chain.settings, db_session.connection().engine, audit_chain.Settings(KEY, own))
    return own


def _write(session, n: int, action: str = "test.event", commit: bool = True) -> list[AuditEntry]:
    entries = [record(session, "staff:tester", action, target=f"thing:{i}", after={"i": i, "名": "值"})
               for i in range(n)]
    if commit:  # entries are linked as their transaction commits
        session.commit()
    else:
        session.flush()
    return entries


def allow_tampering(session) -> None:
    """What a DBA with full rights could do: switch the append-only triggers off."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only"))
    else:
        session.execute(text("DROP TRIGGER audit_entry_no_update"))
        session.execute(text("DROP TRIGGER audit_entry_no_delete"))


def _problems(session, **kwargs) -> list[str]:
    return [str(p) for p in verify(session, KEY, **kwargs)]


def _head(session):
    return session.execute(select(AuditChainHead.seq, AuditChainHead.entry_hash, AuditChainHead.mac)).one()


def _anchor_head(session, anchor: Anchor):
    """What the commit of the transaction so far would append; returns that head."""
    head = _head(session)
    anchor.append_head(*head)
    return head


def _put_back(session, head) -> None:
    """Cut the chain back to `head` and put its row back as it was: what a DBA without the key can do."""
    session.execute(delete(AuditEntry).where(AuditEntry.seq > head.seq))
    session.execute(update(AuditChainHead).values(seq=head.seq, entry_hash=head.entry_hash, mac=head.mac))


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
    allow_tampering(db_session)
    db_session.execute(update(AuditEntry).where(AuditEntry.id == entries[1].id).values(note="edited"))
    problems = _problems(db_session)
    assert problems[0] == f"entry seq {entries[1].seq} (id {entries[1].id}): was changed after it was written"


def test_a_removed_row_leaves_a_gap(db_session):
    entries = _write(db_session, 4)
    seal_head(db_session, KEY)
    allow_tampering(db_session)
    db_session.execute(delete(AuditEntry).where(AuditEntry.id == entries[2].id))
    problems = _problems(db_session)
    assert problems[0].startswith(f"entry seq {entries[2].seq}: missing")


def test_cutting_off_the_newest_rows_is_caught_by_the_seal(db_session):
    entries = _write(db_session, 4)
    seal_head(db_session, KEY)
    allow_tampering(db_session)
    # Remove the last two rows and rewrite the head so the chain itself looks whole.
    db_session.execute(delete(AuditEntry).where(AuditEntry.id.in_([entries[2].id, entries[3].id])))
    db_session.execute(update(AuditChainHead).values(seq=entries[1].seq, entry_hash=entries[1].entry_hash))
    problems = _problems(db_session)
    assert problems[0].startswith(f"entry seq {entries[3].seq}: seal")
    assert "cut off" in problems[0]
    assert problems[1:] == [f"entry seq {entries[3].seq + 1}: the chain head's MAC does not verify: the head was "
                            "moved without the seal key, entries from here on were rewritten or cut off"]


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


# --- the tail since the last seal: the head's MAC and the anchor ---------------------------

def _rewrite_after(session, seq: int, *, clear_mac: bool = False) -> None:
    """Rewrite every entry after `seq` with fresh hashes and move the head to match, as one can
    without the key (the head's MAC is left as it was, or cleared)."""
    table = AuditEntry.__table__
    prev = session.scalar(select(table.c.entry_hash).where(table.c.seq == seq))
    for row in session.execute(select(table).where(table.c.seq > seq).order_by(table.c.seq)).all():
        changed = SimpleNamespace(**{**row._asdict(), "actor": "staff:someone-else", "prev_hash": prev})
        prev = entry_hash(changed, row.seq, changed.prev_hash)
        session.execute(update(table).where(table.c.id == row.id).values(
            actor=changed.actor, prev_hash=changed.prev_hash, entry_hash=prev))
        last_seq = row.seq
    values = {"mac": None} if clear_mac else {}
    session.execute(update(AuditChainHead.__table__).values(seq=last_seq, entry_hash=prev, **values))


def test_every_append_renews_the_heads_mac(db_session):
    _write(db_session, 2)
    head = _head(db_session)
    assert head.mac == head_mac(KEY, head.seq, head.entry_hash)


@pytest.mark.parametrize("mac", ["left as it was", "cleared"])
def test_rewriting_the_tail_with_the_head_recomputed_is_caught_by_the_heads_mac(db_session, mac):
    entries = _write(db_session, 2)
    seal_head(db_session, KEY)
    _write(db_session, 2)
    allow_tampering(db_session)
    _rewrite_after(db_session, entries[1].seq, clear_mac=mac == "cleared")
    problems = _problems(db_session)
    assert len(problems) == 1 and problems[0].startswith(f"entry seq {entries[1].seq + 1}: the chain head")
    assert ("has no MAC" if mac == "cleared" else "MAC does not verify") in problems[0]


def test_a_rewrite_stays_visible_through_the_anchor_after_an_honest_append(db_session, anchor):
    entries = _write(db_session, 2)
    seal_head(db_session, KEY)
    _write(db_session, 2)
    committed = _anchor_head(db_session, anchor)
    allow_tampering(db_session)
    _rewrite_after(db_session, entries[1].seq)
    _write(db_session, 1)  # the next honest append MACs whatever head it finds
    assert _problems(db_session) == [f"entry seq {committed.seq}: differs from the head anchored at line 1 of the "
                                     "anchor file: entries were rewritten"]


def test_cutting_off_rows_and_moving_the_head_back_is_caught_by_the_heads_mac(db_session):
    entries = _write(db_session, 2)
    seal_head(db_session, KEY)
    _write(db_session, 2)
    allow_tampering(db_session)
    db_session.execute(delete(AuditEntry).where(AuditEntry.seq > entries[1].seq))
    db_session.execute(update(AuditChainHead).values(seq=entries[1].seq, entry_hash=entries[1].entry_hash))
    assert _problems(db_session) == [f"entry seq {entries[1].seq + 1}: the chain head's MAC does not verify: the "
                                     "head was moved without the seal key, entries from here on were rewritten "
                                     "or cut off"]


def _cut_off_message(head, line: int, anchored) -> str:
    return (f"entry seq {head.seq + 1}: missing: anchor line {line} names entry {anchored.seq}, the chain ends at "
            f"{head.seq}: rows were cut off (or restored from backup: audit acknowledge-restore)")


def test_cutting_off_rows_and_putting_an_old_head_back_is_caught_by_the_anchor(db_session, anchor):
    _write(db_session, 2)
    old = _anchor_head(db_session, anchor)
    seal_head(db_session, KEY)
    _write(db_session, 2)
    newer = _anchor_head(db_session, anchor)
    allow_tampering(db_session)
    _put_back(db_session, old)  # its MAC is genuine: only the anchor remembers the later head
    assert _problems(db_session) == [_cut_off_message(old, 2, newer)]


def test_anchor_lines_out_of_seq_order_or_behind_the_database_verify(db_session, anchor):
    seal_head(db_session, KEY)
    heads = []
    for _ in range(3):
        _write(db_session, 1)
        heads.append(_head(db_session))
    for head in reversed(heads):  # workers that committed in this order appended in the other
        anchor.append_head(*head)
    _write(db_session, 1)  # committed, then the process died before appending
    assert _problems(db_session) == []
    allow_tampering(db_session)
    _put_back(db_session, heads[1])
    assert _problems(db_session) == [_cut_off_message(heads[1], 1, heads[2])]


@pytest.mark.parametrize("forgery", ["hash replaced", "another key", "cut short"])
def test_a_forged_or_replaced_anchor_line_is_caught(db_session, anchor, forgery):
    _write(db_session, 2)
    seal_head(db_session, KEY)
    head = _head(db_session)
    other = "f" * 64
    line = {"hash replaced": f"head {head.seq} {other} {head.mac}",
            "another key": f"head {head.seq} {other} {head_mac(b'x' * 32, head.seq, other)}",
            "cut short": f"head {head.seq} {head.entry_hash}"}[forgery]
    anchor.path.write_text(f"{line}\n")
    expected = ("chain: anchor line 1 cannot be read" if forgery == "cut short"
                else f"entry seq {head.seq}: anchor line 1 is forged or was changed")
    assert _problems(db_session) == [expected]


def test_only_a_real_commit_anchors_the_head(db_session, anchor):
    _write(db_session, 1)
    db_session.commit()  # only a savepoint's release here: the test's transaction is rolled back at the end
    with pytest.raises(LookupError), db_session.begin_nested():
        _write(db_session, 1, commit=False)
        raise LookupError("the savepoint rolls back")
    _write(db_session, 1, commit=False)
    db_session.rollback()
    assert anchor.lines() == []


def test_a_head_without_mac_verifies_only_where_the_last_seal_covers_it(db_session):
    """A chain from before head MACs, or linked by a migration without the key."""
    entries = _write(db_session, 2)
    seal_head(db_session, KEY)
    _write(db_session, 1)
    db_session.execute(update(AuditChainHead).values(mac=None))
    assert _problems(db_session) == [f"entry seq {entries[1].seq + 1}: the chain head has no MAC and the last seal "
                                     "does not cover it: entries from here on may have been rewritten or cut off"]
    seal_head(db_session, KEY)
    assert _problems(db_session) == []


# --- an honest restore from backup ---------------------------------------------------------

def _restored(db_session, anchor):
    """A database restored from a backup taken at the returned head, with one anchored head lost."""
    _write(db_session, 2)
    backup = _anchor_head(db_session, anchor)
    seal_head(db_session, KEY)
    _write(db_session, 2)
    lost = _anchor_head(db_session, anchor)
    allow_tampering(db_session)
    _put_back(db_session, backup)
    return backup, lost


def test_an_acknowledged_restore_verifies_and_the_chain_goes_on(db_session, anchor):
    backup, lost = _restored(db_session, anchor)
    assert _problems(db_session) == [_cut_off_message(backup, 2, lost)]
    restore = acknowledge_restore(db_session, KEY, "cli")
    assert (restore.seq, restore.dropped, restore.anchored_to, restore.entry_seq) == (
        backup.seq, 1, lost.seq, backup.seq + 1)
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.seq == restore.entry_seq)).one()
    assert (entry.actor, entry.action, entry.before, entry.after) == (
        "cli", "audit.restore_acknowledged", {"anchored_head": lost.seq},
        {"head_seq": backup.seq, "head_hash": backup.entry_hash, "dropped": 1})
    assert anchor.lines()[2].startswith(f"restore {backup.seq} {backup.entry_hash} {entry.seq} {entry.entry_hash} 1 ")
    _anchor_head(db_session, anchor)
    _write(db_session, 2)
    _anchor_head(db_session, anchor)
    assert _problems(db_session) == []
    assert acknowledge_restore(db_session, KEY, "cli") is None


def test_a_restore_marker_copied_further_down_does_not_verify(db_session, anchor):
    """A marker voids the heads anchored before it: copied to the end, it would hide a later cut-off."""
    backup, _ = _restored(db_session, anchor)
    acknowledge_restore(db_session, KEY, "cli")
    acknowledged = _anchor_head(db_session, anchor)
    _write(db_session, 2)
    newer = _anchor_head(db_session, anchor)
    _put_back(db_session, acknowledged)
    with anchor.locked() as write:
        write(anchor.lines()[2])
    assert _problems(db_session) == [f"entry seq {backup.seq}: anchor line 6 is forged or was changed",
                                     _cut_off_message(acknowledged, 5, newer)]


def test_acknowledge_restore_refuses_a_database_that_is_no_earlier_state_of_the_chain(db_session, anchor):
    entries = _write(db_session, 2)
    _anchor_head(db_session, anchor)
    # The anchor knew another entry at an earlier seq: this is another chain, or a rewritten one.
    other = "f" * 64
    for seq in (entries[0].seq, entries[1].seq + 1):
        anchor.append_head(seq, other, head_mac(KEY, seq, other))
    with pytest.raises(RestoreRefused, match=f"^entry seq {entries[0].seq}: differs from the head anchored at line 2"):
        acknowledge_restore(db_session, KEY, "cli")
    assert len(anchor.lines()) == 3
    assert _head(db_session).seq == entries[1].seq


def test_acknowledge_restore_refuses_a_head_moved_without_the_key(db_session, anchor):
    entries = _write(db_session, 2)
    _write(db_session, 2)
    _anchor_head(db_session, anchor)
    allow_tampering(db_session)
    db_session.execute(delete(AuditEntry).where(AuditEntry.seq > entries[1].seq))
    db_session.execute(update(AuditChainHead).values(seq=entries[1].seq, entry_hash=entries[1].entry_hash))
    with pytest.raises(RestoreRefused, match="the chain head's MAC does not verify"):
        acknowledge_restore(db_session, KEY, "cli")
    assert len(anchor.lines()) == 1
