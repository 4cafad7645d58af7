"""What the station's work on a key that came in by post has in common — a returned key's wipe
(station.returns), a locked key's unlock (station.unlocks): the key found by its scanned serial, the
station it is plugged in at, and a task asked for again after it failed or while it waits."""
from __future__ import annotations

import enum

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfillment import stock
from models import Staff, Station, Token, record
from models.base import utcnow
from station.jobs import WAKEUP
from web.errors import N_, UserError


def scanned_key(session: Session, serial: str) -> Token:
    """The known key of a typed or scanned serial, locked for the change."""
    if not stock.SERIAL.match(serial):
        raise UserError(N_("Not a key serial (letters, digits, dot, dash, underscore or colon, at most 40)."))
    token = session.scalars(select(Token).where(Token.serial == serial).with_for_update()).first()
    if token is None:
        raise UserError(N_("No key with the media no. %(serial)s is known to the CA."), serial=serial)
    return token


def plugged_in_at(session: Session, serial: str) -> Station | None:
    """The station whose agent listed the key last (of those whose agent can sign in)."""
    stations = [s for s in session.scalars(select(Station).where(Station.credential_sha256.is_not(None)))
                if any(seen.get("serial") == serial for seen in s.tokens_seen or [])]
    return max(stations, key=lambda s: (s.last_seen_at is not None, s.last_seen_at or utcnow()), default=None)


def station_of(session: Session, serial: str) -> Station:
    station = plugged_in_at(session, serial)
    if station is None:
        raise UserError(N_("Key %(serial)s is not plugged in at any station: plug it in, wait until the station "
                           "lists it, and scan it again."), serial=serial)
    return station


def queue_again(session: Session, task, statuses: type[enum.Enum], station: Station, staff: Staff,
                action: str) -> None:
    """The key's open task (waiting, or failed: then its next attempt) handed to `station` again."""
    if task.status is statuses.FAILED:
        task.attempt += 1
    task.station, task.status = station, statuses.QUEUED
    task.taken_at = task.finished_at = task.error = task.message = None
    record(session, staff.actor, action, order=task.order, target=f"token:{task.token.serial}",
           after={"station": station.name, "attempt": task.attempt})
    session.info[WAKEUP] = True
