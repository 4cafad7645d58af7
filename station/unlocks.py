"""Keys locked by wrong user PINs and mailed in (证书解锁 by post, free): fulfillment staff scan a key
plugged in at a station, the station's agent unlocks it with its SO PIN (protocol.station.Unlock: a new
user PIN, a new SO PIN at once), the new user PIN goes to the legal representative's phone by SMS,
and the key is mailed back.

Only a key the CA programmed (its SO PIN on file) whose certificate is valid is unlocked. The new PINs
are made when the key is received and kept sealed on the unlock until it is done, so a retry sets the
same ones and the SMS goes once; then the key's SO PIN on file is the new one and the unlock forgets
both. A failed unlock leaves the key locked and may be tried again. Operations flush and never commit."""
from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Certificate, CertificateStatus, KeyUnlock, Staff, Station, Token, TokenState, UnlockStatus, record
from models.base import update_if, utcnow
from models.token_state import new_pin
from notifications.messages import render_sms
from notifications.outbox import queue_sms
from station import key_tasks
from station.jobs import WAKEUP
from web.errors import N_, UserError
from web.labels import label

CUT_OFF = "The station agent stopped while unlocking the key: scan it again to try again."
UNLOCKABLE = frozenset({TokenState.SHIPPED, TokenState.ACTIVE, TokenState.LOCKED})  # in the applicant's hands


def receive(session: Session, serial: str, staff: Staff) -> KeyUnlock:
    """The locked key `serial` came in by post: recorded as received (and the key as locked), and its
    unlock handed to the station it is plugged in at. A failed (or waiting) unlock is asked for again."""
    serial = (serial or "").strip()
    token = key_tasks.scanned_key(session, serial)
    pending = open_unlock(session, token)
    if pending is not None and pending.status is UnlockStatus.RUNNING:
        raise UserError(N_("Key %(serial)s is being unlocked at station %(station)s now."), serial=serial,
                        station=pending.station.name)
    _check_unlockable(session, token)
    station = key_tasks.station_of(session, serial)
    if token.state is TokenState.SHIPPED:  # it reached the applicant, who used it until it locked
        token.move_to(TokenState.ACTIVE, staff.actor, note="it came back locked")
    if token.state is TokenState.ACTIVE:
        token.move_to(TokenState.LOCKED, staff.actor, note="mailed in locked")
    if pending is None:
        pending = _new_unlock(session, token, station, staff)
        session.info[WAKEUP] = True
    else:
        key_tasks.queue_again(session, pending, UnlockStatus, station, staff, "key_unlock.retried")
    return pending


def open_unlock(session: Session, token: Token) -> KeyUnlock | None:
    return session.scalars(select(KeyUnlock).where(KeyUnlock.token_id == token.id,
                                                   KeyUnlock.status != UnlockStatus.DONE)).first()


def _check_unlockable(session: Session, token: Token) -> None:
    if token.order is None or token.state not in UNLOCKABLE:
        raise UserError(N_("Key %(serial)s is not with an applicant (it is “%(state)s”): only a key in use is "
                           "unlocked here."), serial=token.serial, state=label(f"token_{token.state.value}"))
    valid = session.scalars(select(Certificate).where(
        Certificate.media_serial == token.serial, Certificate.order_id == token.order_id,
        Certificate.status == CertificateStatus.VALID, Certificate.not_after > utcnow())).first()
    if valid is None:
        raise UserError(N_("Key %(serial)s holds no valid certificate (it is revoked, superseded or expired): "
                           "it is not unlocked."), serial=token.serial)
    if token.so_pin is None:
        raise UserError(N_("The CA holds no SO PIN for key %(serial)s: it cannot be unlocked here."),
                        serial=token.serial)


def _new_unlock(session: Session, token: Token, station: Station, staff: Staff) -> KeyUnlock:
    unlock = KeyUnlock(public_id="U" + secrets.token_hex(5).upper(), token=token, order=token.order,
                       station=station, status=UnlockStatus.QUEUED, received_by=staff,
                       user_pin=new_pin(), so_pin=new_pin())
    try:
        with session.begin_nested():
            session.add(unlock)
    except IntegrityError:  # the same key scanned twice at once
        raise UserError(N_("Key %(serial)s is being unlocked at station %(station)s now."), serial=token.serial,
                        station=station.name) from None
    record(session, staff.actor, "key_unlock.received", order=token.order, target=f"token:{token.serial}",
           after={"station": station.name, "unlock": unlock.public_id})
    return unlock


# --- what the station's agent reports (station.agent_work hands the unlock out) ------------------------------


def unlocked(session: Session, unlock: KeyUnlock, actor: str) -> bool:
    """The key is unlocked: its new SO PIN is the one on file (the old one forgotten), its wrong PIN
    counters are back to 0, it is in use again, and the new user PIN goes to the legal representative
    (a personal certificate's holder) by SMS (sealed in the outbox; the unlock forgets both PINs). False
    when this was reported already."""
    if not update_if(session, unlock, KeyUnlock.status == UnlockStatus.RUNNING,
                     status=UnlockStatus.DONE, finished_at=utcnow()):
        return False
    token, order = unlock.token, unlock.order
    token.so_pin = unlock.so_pin
    token.wrong_user_pins = token.wrong_so_pins = 0
    if token.state is TokenState.LOCKED:
        token.move_to(TokenState.ACTIVE, actor, note=f"unlocked at the station ({unlock.public_id})")
    phone = order.holder.phone if order.personal else order.legal_rep.phone
    queue_sms(session, phone, render_sms("key_unlocked", number=order.number, serial=token.serial,
                                         password=unlock.user_pin), order=order, secret=True)
    unlock.user_pin = unlock.so_pin = None
    record(session, actor, "key_unlock.unlocked", order=order, target=f"token:{token.serial}",
           after={"unlock": unlock.public_id, "attempt": unlock.attempt})
    return True


def failed(session: Session, unlock: KeyUnlock, code: str, message: str, actor: str) -> bool:
    """The unlock failed: the key stays locked, the error is shown, staff may try again. False when
    the unlock was not running (a repeated or late report)."""
    if not update_if(session, unlock, KeyUnlock.status == UnlockStatus.RUNNING, status=UnlockStatus.FAILED,
                     finished_at=utcnow(), error=code[:40], message=message[:255]):
        return False
    record(session, actor, "key_unlock.failed", order=unlock.order, target=f"token:{unlock.token.serial}",
           after={"unlock": unlock.public_id, "error": code, "attempt": unlock.attempt})
    return True


def recent(session: Session, limit: int = 50) -> list[KeyUnlock]:
    """The unlocks not done yet, then the latest done ones: what the unlocks page lists."""
    return list(session.scalars(select(KeyUnlock).order_by(
        (KeyUnlock.status == UnlockStatus.DONE), KeyUnlock.updated_at.desc(), KeyUnlock.id.desc()).limit(limit)))
