"""The audit log's hash chain: linking new entries as their transaction commits, guarding the head with a key
outside the database, anchoring every committed head in a file outside the database, sealing,
and verifying the whole.

Each entry's hash covers its content and the previous entry's hash, in `seq` order. A changed
row breaks its own hash and a removed row leaves a gap in `seq`. The newest rows can still be
cut off, or rewritten with fresh hashes, with the head row rewritten to match; three things
catch that, none of which works without the seal key:

- Seals: an HMAC over the head, made at least daily; an entry a seal names must still be there
  with the same hash.
- The head's MAC, HMAC(key, seq, hash), renewed in the transaction of every append (commit-time
  linking and `move_head`): a head moved without the key no longer verifies. An honest append
  made afterwards MACs whatever head it finds, so from then on the anchor is what tells.
- The anchor: once a transaction that moved the head has really committed, its last head
  (seq, hash, MAC) is appended to a file outside the database. An old head row put back after
  a cut-off carries a valid MAC, but the anchor still names the later head; a rewritten entry
  differs from the one anchored. The anchor may lag (a crash between commit and append) and
  its lines may come out of seq order (several processes append): each line is only the word
  that the chain once held that hash at that seq.

A head written without a key (by a migration, before head MACs existed) carries no MAC;
verify accepts that only for the empty chain or a head the last seal covers, which `audit seal`
provides. An anchor file that does not exist (yet) is an empty anchor.

After an honest restore from backup the anchor is ahead of the database: `acknowledge_restore`
records it in the chain and appends a restore marker, after which the heads anchored before the
marker beyond the restored head no longer count.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import logging
import os
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, Row, Transaction, bindparam, event, inspect, select, update
from sqlalchemy.orm import Session, attributes

from models.audit import AuditChainHead, AuditEntry, AuditSeal, record
from models.base import utcnow

GENESIS_HASH = "0" * 64
RESTORE_ACTION = "audit.restore_acknowledged"
_entries = AuditEntry.__table__
_head = AuditChainHead.__table__
_PENDING_HEAD = "audit_chain.pending_head"
_UNLINKED = "audit_chain.unlinked"  # the entries the session wrote since its last commit
log = logging.getLogger(__name__)


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _timestamp(value: dt.datetime) -> str:
    if value.tzinfo is None:  # SQLite hands back naive UTC through Core
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _mac(key: bytes, body: dict) -> str:
    return hmac.new(key, _canonical(body).encode(), hashlib.sha256).hexdigest()


def _same(mac: str | None, expected: str) -> bool:
    return mac is not None and hmac.compare_digest(mac.encode(), expected.encode())


def entry_hash(row, seq: int, prev_hash: str) -> str:
    """The hash of one entry; `row` has the entry's columns as attributes."""
    body = _canonical({
        "seq": seq, "at": _timestamp(row.at), "actor": row.actor, "action": row.action,
        "order_id": row.order_id, "target": row.target, "before": row.before,
        "after": row.after, "note": row.note, "prev": prev_hash,
    })
    return hashlib.sha256(body.encode()).hexdigest()


def head_mac(key: bytes, seq: int, last_hash: str) -> str:
    """The MAC of the head (seq, hash); the anchor's head lines carry the same."""
    return _mac(key, {"head": seq, "hash": last_hash})


# --- the anchor file ---------------------------------------------------------------


class Anchor:
    """A file outside the database that only ever grows, one line each:

        head <seq> <hash> <mac>
        restore <seq> <hash> <ack seq> <ack hash> <dropped> <mac>

    Keep it on other storage than the database (ideally append-only to the application).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    @contextmanager
    def locked(self) -> Iterator[Callable[[str], None]]:
        """Keep every other writer out; yields a function appending one line.

        Each line goes out in one write(2) on an O_APPEND descriptor, so lines of several
        processes never interleave; the flock lets a restore marker count the lines before it.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield lambda line: os.write(fd, f"{line}\n".encode())
        finally:
            os.close(fd)

    def append_head(self, seq: int, last_hash: str, mac: str) -> None:
        with self.locked() as write:
            write(f"head {seq} {last_hash} {mac}")

    def lines(self) -> list[str]:
        try:
            return self.path.read_text(encoding="ascii", errors="replace").splitlines()
        except FileNotFoundError:
            return []


@dataclass(frozen=True)
class Settings:
    """The seal key and the anchor of one database."""

    key: bytes | None = None
    anchor: Anchor | None = None


# Per engine rather than per process: tests and `bench` run several apps in one process, each on
# a database of its own with its own key and anchor, and the last app made must not sign the
# heads of the others' databases.
settings: weakref.WeakKeyDictionary[Engine, Settings] = weakref.WeakKeyDictionary()


def configure(engine: Engine, key: bytes | None, anchor_path: str | os.PathLike | None) -> None:
    """Called by the application factory: every head moved through `engine` from now on gets a
    MAC with `key` and is anchored in `anchor_path`."""
    settings[engine] = Settings(key, Anchor(anchor_path) if anchor_path else None)


def settings_for(connection: Connection | Session) -> Settings:
    """The settings of the database `connection` writes to (none configured: no key, no anchor)."""
    if not isinstance(connection, Connection):
        connection = connection.connection()
    return settings.get(connection.engine, Settings())


@dataclass(frozen=True)
class _PendingHead:
    seq: int
    last_hash: str
    mac: str
    anchor: Anchor
    # The connection's outermost transaction: only once it has committed is the head for good.
    transaction: Transaction


def _anchor_after_commit(session: Session, anchor: Anchor | None, seq: int, last_hash: str,
                         mac: str | None) -> None:
    if mac is not None and anchor is not None:
        session.info[_PENDING_HEAD] = _PendingHead(seq, last_hash, mac, anchor, session.connection().get_transaction())


@event.listens_for(Session, "after_commit")
def _anchor_committed_head(session: Session) -> None:
    pending = session.info.get(_PENDING_HEAD)
    # Still active after a savepoint's release (begin_nested, or a session joined to an outer
    # transaction as in the tests): that transaction may yet roll back, so wait for its commit.
    if pending is None or pending.transaction.is_active:
        return
    del session.info[_PENDING_HEAD]
    try:
        pending.anchor.append_head(pending.seq, pending.last_hash, pending.mac)
    except OSError:  # the entries are committed; an anchor left behind still verifies
        log.exception("could not append audit head %s to %s", pending.seq, pending.anchor.path)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back_head(session: Session, _previous) -> None:
    # Also after a savepoint's rollback, which may have taken the head move with it; should the
    # head have moved before the savepoint, the anchor merely lags until the next commit.
    session.info.pop(_PENDING_HEAD, None)


# --- linking -------------------------------------------------------------------------


def locked_head(connection: Connection | Session) -> tuple[int, str]:
    """The chain's last link (seq, hash); the head row is locked until commit."""
    head = connection.execute(
        select(_head.c.seq, _head.c.entry_hash).where(_head.c.id == 1).with_for_update()
    ).one()
    return head.seq, head.entry_hash


def chained(rows, seq: int, prev: str) -> Iterator[tuple[object, int, str, str]]:
    """Each of `rows` in turn with its link after (seq, prev): (row, seq, previous hash, hash)."""
    for row in rows:
        seq += 1
        digest = entry_hash(row, seq, prev)
        yield row, seq, prev, digest
        prev = digest


def move_head(connection: Connection | Session, seq: int, last_hash: str) -> None:
    """Move the head to (seq, last_hash) with its MAC (none without a configured key).

    Moved through a session, the head is appended to the anchor once that session commits.
    """
    configured = settings_for(connection)
    mac = head_mac(configured.key, seq, last_hash) if configured.key else None
    connection.execute(update(_head).where(_head.c.id == 1).values(seq=seq, entry_hash=last_hash, mac=mac))
    if not isinstance(connection, Connection):
        _anchor_after_commit(connection, configured.anchor, seq, last_hash, mac)


def _link(connection: Connection, rows) -> list[tuple[int, int, str, str]]:
    """Chain `rows` (in id order) after the head; the caller moves the head."""
    links = [(row.id, seq, prev, digest) for row, seq, prev, digest in chained(rows, *locked_head(connection))]
    if links:
        connection.execute(
            update(_entries).where(_entries.c.id == bindparam("row_id")),
            [{"row_id": i, "seq": s, "prev_hash": p, "entry_hash": h} for i, s, p, h in links],
        )
    return links


def link_unchained(connection: Connection) -> int:
    """Link entries written without a link (older rows, bulk loads); returns how many.

    Migrations call this, the early ones before the head had its `mac` column: there the head
    moves without a MAC. Through a bare connection the head is not anchored.
    """
    rows = connection.execute(
        select(_entries).where(_entries.c.seq.is_(None)).order_by(_entries.c.id)
    ).all()
    links = _link(connection, rows)
    if links:
        _, seq, _, last_hash = links[-1]
        if "mac" in {column["name"] for column in inspect(connection).get_columns(_head.name)}:
            move_head(connection, seq, last_hash)
        else:
            connection.execute(update(_head).where(_head.c.id == 1).values(seq=seq, entry_hash=last_hash))
    return len(links)


@event.listens_for(Session, "after_flush")
def _note_new_entries(session: Session, _context) -> None:
    new = [o for o in session.new if isinstance(o, AuditEntry)]
    if new:
        session.info.setdefault(_UNLINKED, []).extend(new)


@event.listens_for(Session, "before_commit")
def _link_new_entries(session: Session) -> None:
    """Link the entries the transaction wrote, just before it commits (not at a savepoint's release).

    Linking locks the head row until COMMIT, and every writer needs it. Taken at the first flush,
    it was held through the rest of the request (image checks, storage, other rows' locks): writers
    queued behind it, and one holding it while waiting for a row another writer held, which waited
    for the head, deadlocked. Taken last, it is held for the commit alone and never while waiting.
    """
    if not session.in_nested_transaction():
        link_written(session)


def link_written(session: Session) -> None:
    """Link the entries the session wrote so far now (what its commit would do).

    The entries are hashed as the session holds them, never read back: the signing service's
    database role may write entries but not read what other entries say."""
    session.flush()
    # An entry of a savepoint rolled back is no longer persistent; one linked already has its seq.
    written = sorted((entry for entry in session.info.pop(_UNLINKED, ())
                      if inspect(entry).persistent and inspect(entry).dict.get("seq") is None),
                     key=lambda entry: entry.id)
    if not written:
        return
    links = _link(session.connection(), written)
    for entry, (_id, seq, prev, digest) in zip(written, links, strict=True):
        attributes.set_committed_value(entry, "seq", seq)
        attributes.set_committed_value(entry, "prev_hash", prev)
        attributes.set_committed_value(entry, "entry_hash", digest)
    _, seq, _, last_hash = links[-1]
    move_head(session, seq, last_hash)


@event.listens_for(Session, "after_rollback")
def _forget_unlinked_entries(session: Session) -> None:
    if not session.in_transaction():
        session.info.pop(_UNLINKED, None)


# --- seals -------------------------------------------------------------------


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"audit-seal-key:" + key).hexdigest()[:16]


def _seal_mac(key: bytes, sealed_at: dt.datetime, head_seq: int, head_hash: str,
              prev_mac: str | None) -> str:
    return _mac(key, {"at": _timestamp(sealed_at), "seq": head_seq, "hash": head_hash, "prev": prev_mac})


def seal_head(session: Session, key: bytes, now: dt.datetime | None = None) -> AuditSeal:
    """Seal the current chain head (the workers do every 6 hours; at least daily)."""
    now = now or utcnow()
    head = session.execute(select(AuditChainHead).where(AuditChainHead.id == 1)
                           .with_for_update()).scalar_one()
    previous = session.scalars(select(AuditSeal).order_by(AuditSeal.id.desc())).first()
    prev_mac = previous.mac if previous else None
    seal = AuditSeal(sealed_at=now, head_seq=head.seq, head_hash=head.entry_hash,
                     prev_mac=prev_mac, key_id=key_id(key),
                     mac=_seal_mac(key, now, head.seq, head.entry_hash, prev_mac))
    session.add(seal)
    session.flush()
    return seal


# --- verification ----------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    seq: int | None
    entry_id: int | None
    message: str

    def __str__(self) -> str:
        where = f"entry seq {self.seq}" if self.seq is not None else "chain"
        if self.entry_id is not None:
            where += f" (id {self.entry_id})"
        return f"{where}: {self.message}"


def verify(session: Session, key: bytes, now: dt.datetime | None = None,
           max_seal_age: dt.timedelta = dt.timedelta(hours=26),
           anchor: Anchor | None = None) -> Iterator[Problem]:
    """Yield every problem found, by the entry they name (the first bad one first), then the
    problems of the chain as a whole. `anchor` defaults to the one configured for the database."""
    now = now or utcnow()
    anchor = settings_for(session).anchor if anchor is None else anchor
    connection = session.connection()
    hashes = {0: GENESIS_HASH}
    problems = list(_walk(connection, hashes))
    last_seq = max(hashes)
    head = connection.execute(select(_head).where(_head.c.id == 1)).one_or_none()
    if head is None or head.seq != last_seq or head.entry_hash != hashes[last_seq]:
        problems.append(Problem(last_seq, None, "the chain head does not match the last entry: rows were cut off"))
    seals = session.scalars(select(AuditSeal).order_by(AuditSeal.id)).all()
    if head is not None and (problem := _head_problem(key, head, seals[-1] if seals else None)):
        problems.append(problem)
    if anchor is not None:
        problems += _anchor_problems(key, anchor, hashes, last_seq)
    problems += _seal_problems(key, seals, hashes, now, max_seal_age, last_seq)
    yield from sorted(problems, key=lambda p: (p.seq is None, p.seq or 0))


def _walk(connection: Connection, hashes: dict[int, str]) -> Iterator[Problem]:
    """Check each entry against its own hash and the one before; fills `hashes` (seq -> hash)."""
    expected_seq, prev = 1, GENESIS_HASH
    rows = connection.execute(
        select(_entries).where(_entries.c.seq.is_not(None)).order_by(_entries.c.seq)
        .execution_options(yield_per=2000))
    for row in rows:
        if row.seq != expected_seq:
            yield Problem(expected_seq, None, f"missing: entries {expected_seq}–{row.seq - 1} were removed")
        if row.prev_hash != prev:
            yield Problem(row.seq, row.id, "does not link to the entry before it")
        if entry_hash(row, row.seq, row.prev_hash) != row.entry_hash:
            yield Problem(row.seq, row.id, "was changed after it was written")
        hashes[row.seq] = row.entry_hash
        expected_seq, prev = row.seq + 1, row.entry_hash
    unlinked = connection.execute(
        select(_entries.c.id).where(_entries.c.seq.is_(None)).order_by(_entries.c.id)
    ).scalars().first()
    if unlinked is not None:
        yield Problem(None, unlinked, "is not linked into the chain")


def _head_problem(key: bytes, head: Row, last_seal: AuditSeal | None) -> Problem | None:
    """What is wrong with the head's MAC, named at the first entry no seal vouches for."""
    sealed = last_seal is not None and (last_seal.head_seq, last_seal.head_hash) == (head.seq, head.entry_hash)
    first_unsealed = (last_seal.head_seq if last_seal else 0) + 1
    if head.mac is None and not (head.seq == 0 or sealed):
        return Problem(first_unsealed, None, "the chain head has no MAC and the last seal does not cover it: "
                                             "entries from here on may have been rewritten or cut off")
    if head.mac is not None and not _same(head.mac, head_mac(key, head.seq, head.entry_hash)):
        return Problem(first_unsealed, None, "the chain head's MAC does not verify: the head was moved without "
                                             "the seal key, entries from here on were rewritten or cut off")
    return None


def _seal_problems(key, seals, hashes, now, max_seal_age, last_seq) -> Iterator[Problem]:
    prev_mac = None
    last = None
    for seal in seals:
        if seal.key_id != key_id(key):
            yield Problem(seal.head_seq, None, f"seal {seal.id} was made with another key")
        elif seal.prev_mac != prev_mac or seal.mac != _seal_mac(
                key, seal.sealed_at, seal.head_seq, seal.head_hash, seal.prev_mac):
            yield Problem(seal.head_seq, None, f"seal {seal.id} is forged or was changed")
        if seal.head_seq and hashes.get(seal.head_seq) != seal.head_hash:
            yield Problem(seal.head_seq, None,
                          f"seal {seal.id} names this entry but it is missing or differs: "
                          "entries were cut off or rewritten")
        prev_mac, last = seal.mac, seal
    if last_seq and (last is None or now - last.sealed_at > max_seal_age):
        since = "never sealed" if last is None else f"last sealed {last.sealed_at:%Y-%m-%d %H:%M} UTC"
        yield Problem(None, None, f"the chain head is not sealed within {max_seal_age} ({since})")


# --- reading the anchor ----------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    """The anchor's word (at `line`) that the chain once held `entry_hash` at `seq`."""

    seq: int
    entry_hash: str
    line: int


def _restore_mac(key: bytes, line: int, seq: int, last_hash: str, ack_seq: int, ack_hash: str,
                 dropped: int) -> str:
    # The line number makes a marker valid only where it was written: copied further down
    # (to void the heads anchored since) it no longer verifies.
    return _mac(key, {"restore": seq, "hash": last_hash, "ack": [ack_seq, ack_hash], "dropped": dropped,
                      "line": line})


@dataclass(frozen=True)
class _Line:
    seq: int
    claims: list[_Claim]
    restore: bool  # a restore marker: earlier claims beyond `seq` are void
    valid: bool  # its MAC verifies


def _parse(key: bytes, number: int, text: str) -> _Line:
    """One line of the anchor; ValueError if it cannot be read."""
    match text.split(" "):
        case ["head", seq, last_hash, mac]:
            seq = int(seq)
            return _Line(seq, [_Claim(seq, last_hash, number)], False, _same(mac, head_mac(key, seq, last_hash)))
        case ["restore", seq, last_hash, ack_seq, ack_hash, dropped, mac]:
            seq, ack_seq = int(seq), int(ack_seq)
            valid = _same(mac, _restore_mac(key, number, seq, last_hash, ack_seq, ack_hash, int(dropped)))
            return _Line(seq, [_Claim(seq, last_hash, number), _Claim(ack_seq, ack_hash, number)], True, valid)
    raise ValueError(text)


def _read_anchor(key: bytes, lines: list[str]) -> tuple[list[_Claim], list[Problem]]:
    """The claims that still count (a restore marker voids the earlier ones beyond the head it
    names) and the lines that cannot be read or do not verify."""
    claims: list[_Claim] = []
    problems: list[Problem] = []
    for number, text in enumerate(lines, 1):
        try:
            line = _parse(key, number, text)
        except ValueError:
            problems.append(Problem(None, None, f"anchor line {number} cannot be read"))
            continue
        if not line.valid:
            problems.append(Problem(line.seq, None, f"anchor line {number} is forged or was changed"))
            continue
        if line.restore:
            claims = [claim for claim in claims if claim.seq <= line.seq]
        claims += line.claims
    return claims, problems


def _differing(claims: Iterable[_Claim], hashes: dict[int, str]) -> _Claim | None:
    """The lowest claim the database's hashes contradict."""
    return min((c for c in claims if hashes.get(c.seq) != c.entry_hash), key=lambda c: c.seq, default=None)


def _anchor_problems(key: bytes, anchor: Anchor, hashes: dict[int, str], last_seq: int) -> list[Problem]:
    claims, problems = _read_anchor(key, anchor.lines())
    if (claim := _differing((c for c in claims if c.seq <= last_seq), hashes)) is not None:
        problems.append(Problem(claim.seq, None, f"differs from the head anchored at line {claim.line} "
                                                 "of the anchor file: entries were rewritten"))
    ahead = [c for c in claims if c.seq > last_seq]
    if ahead:
        furthest = max(ahead, key=lambda c: c.seq)
        problems.append(Problem(last_seq + 1, None, f"missing: anchor line {furthest.line} names entry "
                                                    f"{furthest.seq}, the chain ends at {last_seq}: rows were "
                                                    "cut off (or restored from backup: audit acknowledge-restore)"))
    return problems


# --- an honest restore ---------------------------------------------------------------


class RestoreRefused(Exception):
    """The database does not look like an earlier state of the anchored chain."""


@dataclass(frozen=True)
class Restore:
    seq: int  # the restored head
    dropped: int  # anchored heads beyond it, which no longer count
    anchored_to: int  # the furthest of them
    entry_seq: int  # the acknowledgment's place in the chain


def acknowledge_restore(session: Session, key: bytes, actor: str, anchor: Anchor | None = None) -> Restore | None:
    """Record an honest restore from backup, after which the database's head verifies again
    although the anchor named later heads. None when the anchor is not ahead of the database.

    With the head row locked and every other anchor writer kept out, it checks the head's MAC
    and that each anchored head up to the restored one is the database's own (else
    RestoreRefused: the database is no earlier state of this chain), writes an
    `audit.restore_acknowledged` entry, then appends a restore marker naming the restored head
    and that entry. Never commits. Should the caller's commit fail, the marker names an entry
    that is not there, which verify reports as cut off until the restore is acknowledged again.
    """
    anchor = settings_for(session).anchor if anchor is None else anchor
    if anchor is None:
        raise RestoreRefused("no anchor file is configured")
    connection = session.connection()
    head = connection.execute(select(_head).where(_head.c.id == 1).with_for_update()).one()
    last_seal = session.scalars(select(AuditSeal).order_by(AuditSeal.id.desc())).first()
    if (problem := _head_problem(key, head, last_seal)) is not None:
        raise RestoreRefused(str(problem))
    with anchor.locked() as write:
        lines = anchor.lines()
        claims, problems = _read_anchor(key, lines)
        if problems:
            raise RestoreRefused(f"{problems[0]}: look into the anchor file first")
        behind = [c for c in claims if c.seq <= head.seq]
        if (claim := _differing(behind, _stored_hashes(connection, {c.seq for c in behind}))) is not None:
            raise RestoreRefused(f"entry seq {claim.seq}: differs from the head anchored at line {claim.line}: "
                                 "the database is not an earlier state of the anchored chain")
        ahead = {c.seq for c in claims if c.seq > head.seq}
        if not ahead:
            return None
        entry = record(session, actor, RESTORE_ACTION, target="audit:chain",
                       before={"anchored_head": max(ahead)},
                       after={"head_seq": head.seq, "head_hash": head.entry_hash, "dropped": len(ahead)})
        link_written(session)
        write(f"restore {head.seq} {head.entry_hash} {entry.seq} {entry.entry_hash} {len(ahead)} "
              + _restore_mac(key, len(lines) + 1, head.seq, head.entry_hash, entry.seq, entry.entry_hash,
                             len(ahead)))
    return Restore(head.seq, len(ahead), max(ahead), entry.seq)


def _stored_hashes(connection: Connection, seqs: set[int]) -> dict[int, str]:
    rows = connection.execute(select(_entries.c.seq, _entries.c.entry_hash).where(_entries.c.seq.is_not(None))
                              .execution_options(yield_per=2000))
    return {0: GENESIS_HASH} | {seq: digest for seq, digest in rows if seq in seqs}
