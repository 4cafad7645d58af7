"""Station credentials: what an agent signs in with. Admin issues one (shown once), rotates it (the
old one stops at once) and revokes it. A credential is `st1.<station id>.<secret>`, the secret 256
random bits; only its SHA-256 is kept, compared in constant time."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy.orm import Session

from models import Staff, Station, record
from models.base import utcnow
from protocol.station import CREDENTIAL_PREFIX


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(session: Session, station: Station, staff: Staff) -> str:
    """A new credential for `station`, replacing any earlier one; returned once, never stored."""
    secret = secrets.token_urlsafe(32)
    rotated = station.credential_sha256 is not None
    station.credential_sha256 = _digest(secret)
    station.credential_issued_at = utcnow()
    station.credential_revoked_at = None
    record(session, staff.actor, "station.credential_rotated" if rotated else "station.credential_issued",
           target=f"station:{station.name}")
    return f"{CREDENTIAL_PREFIX}.{station.id}.{secret}"


def register(session: Session, name: str, staff: Staff) -> tuple[Station, str]:
    """A new station of that name (the caller checks it is free) and its agent's first credential,
    returned once."""
    station = Station(name=name)
    session.add(station)
    session.flush()
    return station, issue(session, station, staff)


def revoke(session: Session, station: Station, staff: Staff) -> None:
    station.credential_sha256 = None
    station.credential_revoked_at = utcnow()
    record(session, staff.actor, "station.credential_revoked", target=f"station:{station.name}")


def authenticate(session: Session, authorization: str | None) -> Station | None:
    """The station whose live credential is in the `Authorization: Bearer …` header, else None."""
    scheme, _, credential = (authorization or "").partition(" ")
    prefix, _, rest = credential.strip().partition(".")
    station_id, _, secret = rest.partition(".")
    if scheme.lower() != "bearer" or prefix != CREDENTIAL_PREFIX or not station_id.isdigit() or not secret \
            or len(station_id) > 9 or len(secret) > 100:
        return None
    station = session.get(Station, int(station_id))
    if station is None or station.credential_sha256 is None:
        return None
    return station if hmac.compare_digest(station.credential_sha256, _digest(secret)) else None
