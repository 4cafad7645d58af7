"""Keys sent back by post once their certificate is revoked (the end of 吊销): fulfillment staff
scan a key plugged in at a station, the station's agent wipes it (protocol.station.Wipe), and the
key is blank again: back on the shelf when it came from there, else kept for its applicant.

Only a key the CA knows whose certificate is revoked is wiped; a key still holding a certificate
that is not revoked is refused until it is. A failed wipe leaves the key revoked and may be tried
again. Operations flush and never commit; the request's unit of work does."""
from __future__ import annotations

import secrets

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fulfillment import stock
from models import (
    Certificate,
    CertificateStatus,
    KeyReturn,
    ReturnStatus,
    Staff,
    Station,
    Token,
    TokenState,
    record,
)
from models.base import update_if, utcnow
from models.token_state import TOKEN_TRANSITIONS
from station import key_tasks
from station.jobs import WAKEUP
from web.errors import N_, UserError
from web.labels import label

CUT_OFF = "The station agent stopped while wiping the key: scan it again to try again."


def receive(session: Session, serial: str, staff: Staff) -> KeyReturn:
    """The key `serial` came back: recorded as received, and its wipe handed to the station it is
    plugged in at. A key whose wipe failed (or still waits) is asked for again on the same return."""
    serial = (serial or "").strip()
    token = key_tasks.scanned_key(session, serial)
    pending = open_return(session, token)
    if pending is not None and pending.status is ReturnStatus.RUNNING:
        raise UserError(N_("Key %(serial)s is being wiped at station %(station)s now."), serial=serial,
                        station=pending.station.name)
    _check_revoked(session, token)
    station = key_tasks.station_of(session, serial)
    if token.state is not TokenState.REVOKED:  # its certificate was revoked in the console, the key not marked
        token.move_to(TokenState.REVOKED, staff.actor, note="its certificate is revoked")
    if pending is None:
        pending = _new_return(session, token, station, staff)
        session.info[WAKEUP] = True
    else:
        key_tasks.queue_again(session, pending, ReturnStatus, station, staff, "key_return.retried")
    return pending


def open_return(session: Session, token: Token) -> KeyReturn | None:
    return session.scalars(select(KeyReturn).where(KeyReturn.token_id == token.id,
                                                   KeyReturn.status != ReturnStatus.DONE)).first()


def _check_revoked(session: Session, token: Token) -> None:
    """The key's certificate is revoked: the key is revoked, or holds no certificate but revoked ones
    (revoked in the console, which does not mark the key) and may be marked revoked now."""
    unrevoked = session.scalars(select(Certificate.serial_number).where(
        Certificate.media_serial == token.serial, Certificate.status != CertificateStatus.REVOKED,
        Certificate.not_after > utcnow()).order_by(Certificate.id)).first()
    if unrevoked is not None:
        raise UserError(N_("Certificate %(certificate)s on key %(serial)s is not revoked: revoke it first, then "
                           "scan the key again."), certificate=unrevoked, serial=token.serial)
    if token.state is TokenState.REVOKED:
        return
    revoked = session.scalar(select(exists().where(Certificate.media_serial == token.serial,
                                                   Certificate.status == CertificateStatus.REVOKED)))
    if not revoked or TokenState.REVOKED not in TOKEN_TRANSITIONS[token.state]:
        raise UserError(N_("Key %(serial)s is not revoked (it is “%(state)s”): only a key whose certificate is "
                           "revoked is wiped here."), serial=token.serial, state=label(f"token_{token.state.value}"))


def _new_return(session: Session, token: Token, station: Station, staff: Staff) -> KeyReturn:
    from_shelf, _balance = stock.on_shelf_balance(session, token)
    returned = KeyReturn(public_id="W" + secrets.token_hex(5).upper(), token=token, order=token.order,
                         station=station, status=ReturnStatus.QUEUED, received_by=staff,
                         from_shelf=from_shelf)
    try:
        with session.begin_nested():
            session.add(returned)
    except IntegrityError:  # the same key scanned twice at once
        raise UserError(N_("Key %(serial)s is being wiped at station %(station)s now."), serial=token.serial,
                        station=station.name) from None
    record(session, staff.actor, "key_return.received", order=token.order, target=f"token:{token.serial}",
           after={"station": station.name, "return": returned.public_id, "from_shelf": from_shelf})
    return returned


# --- what the station's agent reports (station.agent_work hands the wipe out) -------------------------------


def wiped(session: Session, returned: KeyReturn, actor: str) -> bool:
    """The key is wiped and checked empty: blank again, unbound, its SO PIN forgotten, one reset more,
    and back on the shelf when it came from there. False when this was reported already."""
    if not update_if(session, returned, KeyReturn.status == ReturnStatus.RUNNING,
                     status=ReturnStatus.DONE, finished_at=utcnow()):
        return False
    token = returned.token
    token.move_to(TokenState.BLANK, actor, note=f"wiped after it came back ({returned.public_id})")
    token.order, token.so_pin = None, None
    token.resets += 1
    token.wrong_so_pins = token.wrong_user_pins = 0
    came_from_shelf, balance = stock.on_shelf_balance(session, token)
    if came_from_shelf and balance <= 0:
        stock.return_key(session, token, actor, note=f"wiped after it came back ({returned.public_id})")
    record(session, actor, "key_return.wiped", order=returned.order, target=f"token:{token.serial}",
           after={"return": returned.public_id, "to_shelf": came_from_shelf, "attempt": returned.attempt})
    return True


def failed(session: Session, returned: KeyReturn, code: str, message: str, actor: str) -> bool:
    """The wipe failed: the key stays revoked, the error is shown, staff may try again. False when the
    wipe was not running (a repeated or late report)."""
    if not update_if(session, returned, KeyReturn.status == ReturnStatus.RUNNING, status=ReturnStatus.FAILED,
                     finished_at=utcnow(), error=code[:40], message=message[:255]):
        return False
    record(session, actor, "key_return.wipe_failed", order=returned.order, target=f"token:{returned.token.serial}",
           after={"return": returned.public_id, "error": code, "attempt": returned.attempt})
    return True


def recent(session: Session, limit: int = 50) -> list[KeyReturn]:
    """The returns not done yet, then the latest done ones: what the returned keys page lists."""
    return list(session.scalars(select(KeyReturn).order_by(
        (KeyReturn.status == ReturnStatus.DONE), KeyReturn.updated_at.desc(), KeyReturn.id.desc()).limit(limit)))
