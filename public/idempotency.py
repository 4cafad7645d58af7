"""Idempotency keys of the channel API: a call repeated with the same `Idempotency-Key` (a
channel's server retrying after a timeout) gets the first answer instead of filing twice.

The key is claimed before the call runs, in the call's own transaction: of two calls with one
key at once, the second waits on the unique index (PostgreSQL) or on the write lock (SQLite)
and then finds the first one's answer. Only a successful answer is kept; a refused call leaves
nothing behind and may be retried with the same key.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Channel, IdempotencyRecord
from web.errors import N_, InvalidValue
from web.text import plain_text

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Replay:
    """The first answer given under the key."""

    response: dict


class KeyReused(Exception):
    """The key was used with another request within its lifetime."""


def check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidValue(N_("The Idempotency-Key must have 1 to 255 characters."))
    return plain_text(key)


def request_digest(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def claim(session: Session, channel: Channel, key: str, digest: str, *, now: dt.datetime,
          lifetime: dt.timedelta) -> IdempotencyRecord | Replay:
    """The key's record for this call to fill in, or the first call's answer (KeyReused when
    the first call was another request)."""
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.channel_id == channel.id,
                                                    IdempotencyRecord.created_at < now - lifetime))
    record = IdempotencyRecord(channel_id=channel.id, key=key, request_digest=digest, status_code=0,
                               response={}, created_at=now)
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        first = session.scalars(select(IdempotencyRecord).where(
            IdempotencyRecord.channel_id == channel.id, IdempotencyRecord.key == key)).one()
        if first.request_digest != digest:
            raise KeyReused(key) from None
        return Replay(first.response)
    return record


def keep(session: Session, record: IdempotencyRecord, status_code: int, response: dict) -> None:
    """Keep a successful answer; forget the key after any other, so a retry runs again."""
    if 200 <= status_code < 300:
        record.status_code, record.response = status_code, response
    else:
        session.delete(record)
    session.flush()
