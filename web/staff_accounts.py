"""Operations on staff accounts: passwords, the TOTP second factor, lock-out.

They change the account and write the audit entry; they never commit (the request edge or
the CLI command does). The acting person is passed in as an audit actor string.
"""
from __future__ import annotations

import datetime as dt
import functools
import hmac

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from models import Staff, StaffRole, record

MIN_PASSWORD_LENGTH = 12
# argon2id at the OWASP Password Storage Cheat Sheet's minimum (m=19 MiB, t=2, p=1): one verify is
# ~18 ms of one core. argon2-cffi's default (RFC 9106's low-memory profile, m=64 MiB, t=3, p=4) took
# ~110 ms and four threads per verify, so that four workers on two cores kept sign-ins waiting 0.4-1.6 s.
# A hash made with other parameters still verifies, and is made again with these at its next sign-in.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def set_password(staff: Staff, password: str) -> None:
    staff.password_hash = hash_password(password)


@functools.cache
def _decoy_hash() -> str:
    return hash_password("no such staff member")


def check_password(staff: Staff | None, password: str) -> bool:
    """True when the password is right; an unknown account costs the same time as a known one."""
    try:
        _hasher.verify(staff.password_hash if staff else _decoy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    if staff is None:
        return False
    if _hasher.check_needs_rehash(staff.password_hash):
        set_password(staff, password)
    return True


def create_staff(session: Session, *, username: str, display_name: str, role: StaffRole, password: str,
                 email: str | None, actor: str) -> Staff:
    staff = Staff(username=username, display_name=display_name, role=role, email=email,
                  password_hash=hash_password(password), active=True)
    session.add(staff)
    session.flush()
    record(session, actor, "staff.created", target=staff.actor,
           after={"username": username, "display_name": display_name, "role": role.value, "email": email})
    return staff


# --- sign-in --------------------------------------------------------------------------------

def record_failed_login(session: Session, staff: Staff, *, now: dt.datetime, source: str, stage: str,
                        max_failures: int, lockout_minutes: int) -> bool:
    """Count a wrong password or code; lock the account at `max_failures`. True if it is now locked."""
    if staff.locked_until is not None and staff.locked_until <= now:
        staff.locked_until = None  # an expired lock-out: counting starts again
        staff.failed_logins = 0
    staff.failed_logins += 1
    record(session, source, "staff.login_failed", target=staff.actor, note=stage)
    if staff.failed_logins < max_failures:
        return False
    staff.locked_until = now + dt.timedelta(minutes=lockout_minutes)
    record(session, source, "staff.locked", target=staff.actor,
           after={"locked_until": staff.locked_until.isoformat()},
           note=f"{staff.failed_logins} failed sign-ins")
    return True


def record_login(session: Session, staff: Staff, *, now: dt.datetime, source: str) -> None:
    staff.failed_logins = 0
    staff.locked_until = None
    staff.last_login_at = now
    record(session, staff.actor, "staff.login", target=staff.actor, note=source)


# --- the second factor ----------------------------------------------------------------------

def start_enrolment(staff: Staff) -> str:
    """Give the account a new, unconfirmed TOTP secret (kept until a first code confirms it)."""
    staff.totp_secret = pyotp.random_base32()
    staff.totp_confirmed_at = None
    staff.totp_last_step = None
    return staff.totp_secret


def provisioning_uri(staff: Staff, issuer: str) -> str:
    return pyotp.TOTP(staff.totp_secret).provisioning_uri(name=staff.username, issuer_name=issuer)


def _matching_step(secret: str, code: str, now: dt.datetime) -> int | None:
    # The window of pyotp's verify(valid_window=1), but we need to know which step matched.
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def accept_totp_code(staff: Staff, code: str, *, now: dt.datetime) -> bool:
    """Check a code; each time step is accepted once only. A first good code confirms enrolment."""
    code = code.strip()
    if not staff.totp_secret or len(code) != 6 or not code.isdigit():
        return False
    step = _matching_step(staff.totp_secret, code, now)
    if step is None or (staff.totp_last_step is not None and step <= staff.totp_last_step):
        return False
    staff.totp_last_step = step
    if staff.totp_confirmed_at is None:
        staff.totp_confirmed_at = now
    return True


def current_totp_code(staff: Staff) -> str:
    return pyotp.TOTP(staff.totp_secret).now()


# --- what an admin (or the CLI) does --------------------------------------------------------

def reset_second_factor(session: Session, staff: Staff, *, actor: str) -> None:
    """Forget the TOTP secret: the person enrols again at their next sign-in."""
    before = {"totp_confirmed_at": _iso(staff.totp_confirmed_at)}
    staff.totp_secret = None
    staff.totp_confirmed_at = None
    staff.totp_last_step = None
    record(session, actor, "staff.totp_reset", target=staff.actor, before=before,
           after={"totp_confirmed_at": None})


def lift_lockout(session: Session, staff: Staff, *, actor: str) -> None:
    before = {"locked_until": _iso(staff.locked_until), "failed_logins": staff.failed_logins}
    staff.locked_until = None
    staff.failed_logins = 0
    record(session, actor, "staff.unlocked", target=staff.actor, before=before,
           after={"locked_until": None, "failed_logins": 0})


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None
