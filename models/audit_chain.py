"""The audit log's hash chain: linking new entries at flush time, sealing the head with
a key outside the database, and verifying the whole chain.

Each entry's hash covers its content and the previous entry's hash, in `seq` order.
A changed row breaks its own hash, a removed row leaves a gap in `seq`, and rows cut
off the end are caught by the seals: each seal is an HMAC over the head at that time,
so an entry a seal names must still be there with the same hash.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, event, select, update
from sqlalchemy.orm import Session, attributes

from models.audit import AuditChainHead, AuditEntry, AuditSeal
from models.base import utcnow

GENESIS_HASH = "0" * 64
_entries = AuditEntry.__table__
_head = AuditChainHead.__table__


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _timestamp(value: dt.datetime) -> str:
    if value.tzinfo is None:  # SQLite hands back naive UTC through Core
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def entry_hash(row, seq: int, prev_hash: str) -> str:
    """The hash of one entry; `row` has the entry's columns as attributes."""
    body = _canonical({
        "seq": seq, "at": _timestamp(row.at), "actor": row.actor, "action": row.action,
        "order_id": row.order_id, "target": row.target, "before": row.before,
        "after": row.after, "note": row.note, "prev": prev_hash,
    })
    return hashlib.sha256(body.encode()).hexdigest()


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
    connection.execute(update(_head).where(_head.c.id == 1).values(seq=seq, entry_hash=last_hash))


def _link(connection: Connection, rows) -> list[tuple[int, int, str, str]]:
    """Chain `rows` (in id order) after the head."""
    links = [(row.id, seq, prev, digest) for row, seq, prev, digest in chained(rows, *locked_head(connection))]
    if links:
        connection.execute(
            update(_entries).where(_entries.c.id == bindparam("row_id")),
            [{"row_id": i, "seq": s, "prev_hash": p, "entry_hash": h} for i, s, p, h in links],
        )
        _, seq, _, last_hash = links[-1]
        move_head(connection, seq, last_hash)
    return links


def link_unchained(connection: Connection) -> int:
    """Link entries written without a link (older rows, bulk loads); returns how many."""
    rows = connection.execute(
        select(_entries).where(_entries.c.seq.is_(None)).order_by(_entries.c.id)
    ).all()
    return len(_link(connection, rows))


@event.listens_for(Session, "after_flush")
def _link_new_entries(session: Session, _context) -> None:
    new = sorted((o for o in session.new if isinstance(o, AuditEntry)), key=lambda e: e.id)
    if not new:
        return
    for entry, (_id, seq, prev, digest) in zip(new, _link(session.connection(), new), strict=True):
        attributes.set_committed_value(entry, "seq", seq)
        attributes.set_committed_value(entry, "prev_hash", prev)
        attributes.set_committed_value(entry, "entry_hash", digest)


# --- seals -------------------------------------------------------------------


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"audit-seal-key:" + key).hexdigest()[:16]


def _seal_mac(key: bytes, sealed_at: dt.datetime, head_seq: int, head_hash: str,
              prev_mac: str | None) -> str:
    body = _canonical({"at": _timestamp(sealed_at), "seq": head_seq, "hash": head_hash,
                       "prev": prev_mac})
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def seal_head(session: Session, key: bytes, now: dt.datetime | None = None) -> AuditSeal:
    """Seal the current chain head (run at least daily, e.g. from cron)."""
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
           max_seal_age: dt.timedelta = dt.timedelta(hours=26)) -> Iterator[Problem]:
    """Yield every problem found, the first bad entry first."""
    now = now or utcnow()
    hashes: dict[int, str] = {}
    expected_seq, prev = 1, GENESIS_HASH
    connection = session.connection()
    unlinked = connection.execute(
        select(_entries.c.id).where(_entries.c.seq.is_(None)).order_by(_entries.c.id)
    ).scalars().first()
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
    if unlinked is not None:
        yield Problem(None, unlinked, "is not linked into the chain")
    last_seq = expected_seq - 1
    head = session.get(AuditChainHead, 1)
    if head is None or head.seq != last_seq or head.entry_hash != prev:
        yield Problem(last_seq, None, "the chain head does not match the last entry: rows were cut off")
    yield from _verify_seals(session, key, hashes, now, max_seal_age, last_seq)


def _verify_seals(session, key, hashes, now, max_seal_age, last_seq) -> Iterator[Problem]:
    prev_mac = None
    last = None
    for seal in session.scalars(select(AuditSeal).order_by(AuditSeal.id)):
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
