"""The public page's side of the key helper (protocol.helper): a session opened by the page, the
one-time pairing code it shows, the helper's pairing and credential, and which key and certificate
the session works on, found from the keys the helper reports.

Operations flush and never commit (public.helper_api draws the transaction lines). The pairing code
is 8 random digits, valid 10 minutes, used once; only its SHA-256 is kept, as only the credential's.
A new code (the page asks for one when the helper was closed or the code ran out) voids the old code
and the credential of any helper paired before: one page, one helper.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Certificate,
    CertificateStatus,
    Channel,
    HelperPurpose,
    HelperSession,
    Order,
    OrderStatus,
    Token,
    record,
)
from models.base import update_if, utcnow
from models.renewal import renewable
from protocol import helper as protocol

SESSION_HOURS = 2  # a page left open ends after this
HELPER_GONE_SECONDS = 45  # no poll for this long: the page says the helper is not running
KEY_OUT = frozenset({OrderStatus.SHIPPED, OrderStatus.COMPLETED})


class CodeRefused(Exception):
    """The pairing code is wrong, used or expired."""


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def open_session(session: Session, channel: Channel, purpose: HelperPurpose, *,
                 browser_secret: str) -> tuple[HelperSession, str]:
    """A new session for the page, with its pairing code (shown once to the page that opened it)."""
    now = utcnow()
    helper = HelperSession(public_id=secrets.token_hex(8), purpose=purpose, channel=channel,
                           browser_hash=_sha256(browser_secret), expires_at=now + dt.timedelta(hours=SESSION_HOURS),
                           keys_seen=[], steps=[])
    session.add(helper)
    code = new_code(helper)
    session.flush()
    return helper, code


def new_code(helper: HelperSession) -> str:
    """A fresh pairing code; the previous one, and a helper paired with it, are void."""
    code = "".join(secrets.choice("0123456789") for _ in range(protocol.PAIRING_CODE_DIGITS))
    helper.pairing_code_sha256 = _sha256(code)
    helper.code_expires_at = utcnow() + dt.timedelta(minutes=protocol.PAIRING_MINUTES)
    helper.credential_sha256 = None
    return code


def shown_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def for_browser(session: Session, public_id: str, browser_secret: str | None) -> HelperSession | None:
    """The session the page opened (None for any other browser, or once it ended)."""
    helper = session.scalars(select(HelperSession).where(HelperSession.public_id == public_id)).first()
    if helper is None or not browser_secret or not hmac.compare_digest(helper.browser_hash, _sha256(browser_secret)):
        return None
    return helper


def of_order(session: Session, order: Order, browser_secret: str | None) -> HelperSession | None:
    """The newest open session of this browser working for the order."""
    helper = session.scalars(select(HelperSession).where(HelperSession.order_id == order.id)
                             .order_by(HelperSession.id.desc())).first()
    if helper is None or not is_open(helper):
        return None
    return for_browser(session, helper.public_id, browser_secret)


def is_open(helper: HelperSession, now: dt.datetime | None = None) -> bool:
    return helper.ended_at is None and (now or utcnow()) < helper.expires_at


def helper_running(helper: HelperSession, now: dt.datetime | None = None) -> bool:
    """A helper is paired and polled lately."""
    return (helper.credential_sha256 is not None and helper.last_seen_at is not None
            and (now or utcnow()) - helper.last_seen_at < dt.timedelta(seconds=HELPER_GONE_SECONDS))


def end(session: Session, helper: HelperSession, outcome: str, actor: str) -> None:
    if helper.ended_at is None:
        helper.ended_at, helper.outcome = utcnow(), outcome
        helper.pairing_code_sha256 = helper.credential_sha256 = None
        record(session, actor, "helper.ended", order=helper.order, target=f"helper:{helper.public_id}",
               after={"outcome": outcome})


# --- the helper ---------------------------------------------------------------------------------------


def pair(session: Session, code: str, keys: list[protocol.KeyOnPc]) -> tuple[HelperSession, str]:
    """The session whose page shows `code`, paired with this helper: its credential (shown once)."""
    digits = "".join(ch for ch in code if ch.isdigit())
    now = utcnow()
    helper = session.scalars(select(HelperSession).where(
        HelperSession.pairing_code_sha256 == _sha256(digits))).first() if len(digits) == protocol.PAIRING_CODE_DIGITS \
        else None
    if helper is None or not is_open(helper, now) or helper.code_expires_at <= now:
        raise CodeRefused(code)
    secret = secrets.token_urlsafe(32)
    credential = f"{protocol.CREDENTIAL_PREFIX}.{helper.public_id}.{secret}"
    # One winner when the same code is typed into two helpers at once.
    if not update_if(session, helper, HelperSession.pairing_code_sha256 == helper.pairing_code_sha256,
                     pairing_code_sha256=None, code_expires_at=None, credential_sha256=_sha256(credential),
                     paired_at=now, last_seen_at=now):
        raise CodeRefused(code)
    seen(session, helper, keys)
    helper.add_step("paired")
    record(session, "applicant", "helper.paired", order=helper.order, target=f"helper:{helper.public_id}",
           after={"keys": [key.serial[:40] for key in keys[:8]]})
    return helper, credential


def authenticate(session: Session, authorization: str | None) -> HelperSession | None:
    """The open session whose helper holds this credential (`Bearer kh1.<session>.<secret>`)."""
    if not authorization or not authorization.startswith("Bearer "):
        return None
    credential = authorization[len("Bearer "):].strip()
    if not credential.startswith(protocol.CREDENTIAL_PREFIX + ".") or len(credential) > 200:
        return None
    helper = session.scalars(select(HelperSession).where(
        HelperSession.credential_sha256 == _sha256(credential))).first()
    return helper if helper is not None and is_open(helper) else None


def seen(session: Session, helper: HelperSession, keys: list[protocol.KeyOnPc]) -> None:
    """The helper is alive with these keys: which key and certificate the session works on."""
    helper.last_seen_at = utcnow()
    helper.keys_seen = [{"serial": key.serial[:40], "label": key.label[:40], "model": key.model[:40],
                         "user_pin_locked": key.user_pin_locked,
                         "certificates": [serial for serial in map(_serial_of, key.certificates[:8]) if serial]}
                        for key in keys[:8]]
    helper.problem = _identify(session, helper)


def _serial_of(pem: str) -> str | None:
    try:
        return f"{x509.load_pem_x509_certificate(pem.encode()).serial_number:032x}"
    except ValueError:
        return None


def _identify(session: Session, helper: HelperSession) -> str | None:
    """None when the one key plugged in holds a certificate of ours the service may work on; else why not
    (the page says it). A session keeps the key it identified first."""
    keys = helper.keys_seen
    if not keys:
        return "no_key"
    if len(keys) > 1:
        return "several_keys"
    key = keys[0]
    if helper.token_id is not None:
        return None if helper.token.serial == key["serial"] else "other_key"
    certificate = _ours(session, key)
    if certificate is None:
        return "unknown_certificate"
    if helper.order is not None and helper.order.certificate_id not in (None, certificate.id):
        return "not_this_certificate"  # a page opened for an order works on the key of its certificate
    if certificate.status is not CertificateStatus.VALID:
        return "certificate_not_valid"
    now = utcnow()
    if helper.purpose is HelperPurpose.RENEWAL and not renewable(certificate.not_after, now):
        return "not_renewable"
    if helper.purpose is HelperPurpose.INFO_CHANGE and certificate.not_after <= now:
        return "certificate_expired"
    token = session.scalars(select(Token).where(Token.serial == key["serial"])).first()
    if token is None:
        return "unknown_certificate"
    helper.certificate, helper.token = certificate, token
    if helper.purpose is not HelperPurpose.UNLOCK:
        helper.login_challenge = secrets.token_hex(32)
    return None


def _ours(session: Session, key: dict) -> Certificate | None:
    """The newest certificate of ours on the key, written to this very key, whose order's key went out."""
    serials = [serial.lower() for serial in key.get("certificates", [])]
    if not serials:
        return None
    return session.scalars(select(Certificate).join(Order, Order.id == Certificate.order_id).where(
        Certificate.serial_number.in_(serials), Certificate.media_serial == key["serial"],
        Order.status.in_(KEY_OUT)).order_by(Certificate.not_after.desc()).limit(1)).first()


def pin_tries_left(token: Token, pin_limit: int) -> int:
    """Wrong key passwords the helper may still take: never the one that would lock the key."""
    return max(0, pin_limit - 1 - token.wrong_user_pins)


def new_certificate(session: Session, order: Order) -> Certificate | None:
    """The certificate a renewal or information change put on the key."""
    return session.scalars(select(Certificate).where(Certificate.order_id == order.id,
                                                     Certificate.status != CertificateStatus.REVOKED)
                           .order_by(Certificate.id.desc())).first()
