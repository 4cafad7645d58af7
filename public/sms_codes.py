"""One-time SMS codes: expiring, single-use, limited per phone and per IP."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Channel, Order, SmsCode
from models.base import utcnow
from notifications.interfaces import SmsContent
from notifications.outbox import queue_sms
from web.errors import N_


@dataclass(frozen=True)
class CodePolicy:
    ttl_seconds: int = 300
    max_attempts: int = 5
    per_phone_per_hour: int = 5
    per_ip_per_hour: int = 20
    per_channel_per_hour: int = 1000
    min_interval_seconds: int = 60

    @classmethod
    def from_config(cls, config) -> CodePolicy:
        return cls(
            ttl_seconds=config["SMS_CODE_TTL_SECONDS"],
            max_attempts=config["SMS_CODE_MAX_ATTEMPTS"],
            per_phone_per_hour=config["SMS_CODES_PER_PHONE_PER_HOUR"],
            per_ip_per_hour=config["SMS_CODES_PER_IP_PER_HOUR"],
            per_channel_per_hour=config["SMS_CODES_PER_CHANNEL_PER_HOUR"],
            min_interval_seconds=config["SMS_CODE_MIN_INTERVAL_SECONDS"],
        )

    @property
    def ttl_minutes(self) -> int:
        """The lifetime the SMS promises: whole minutes, never more than the code lives."""
        return max(self.ttl_seconds // 60, 1)


class CodeRefused(Exception):
    """No code was sent (too soon, too many); the message says when to try again."""


class CodeInvalid(Exception):
    """The code typed is wrong, expired, used, or tried too often."""


def _hash(phone: str, purpose: str, code: str) -> str:
    return hashlib.sha256(f"{phone}|{purpose}|{code}".encode()).hexdigest()


def send_code(
    session: Session,
    policy: CodePolicy,
    *,
    phone: str,
    purpose: str,
    message: Callable[[str], SmsContent],
    client_ip: str | None,
    order: Order | None = None,
    channel: Channel | None = None,
) -> SmsCode:
    """Create a code and queue the SMS `message(code)` makes, worthless once the code expired
    (notifications.messages.render_sms, with `policy.ttl_minutes`). A browser's request is
    counted against its IP (`client_ip`); a channel server's API call against the channel's
    hourly budget (`channel`), never its IP, which all of its applicants share."""
    now = utcnow()
    hour_ago = now - dt.timedelta(hours=1)
    recent = session.execute(
        select(SmsCode.created_at, SmsCode.purpose)
        .where(SmsCode.phone == phone, SmsCode.created_at > hour_ago)
        .order_by(SmsCode.created_at.desc())
    ).all()
    # "Wait a minute" is about asking again for the same code: the order query's code and, a moment
    # later, the signature's (补办, 吊销 start with the query) are two. The hourly budget counts both.
    again = [at for at, sent_for in recent if sent_for == purpose]
    if again and (now - again[0]).total_seconds() < policy.min_interval_seconds:
        raise CodeRefused(
            N_("A code was sent less than a minute ago. Please wait before asking again.")
        )
    if len(recent) >= policy.per_phone_per_hour:
        raise CodeRefused(N_("Too many codes for this phone. Please try again in an hour."))
    if client_ip:
        from_ip = session.scalar(
            select(func.count()).where(SmsCode.client_ip == client_ip, SmsCode.created_at > hour_ago)
        )
        if from_ip >= policy.per_ip_per_hour:
            raise CodeRefused(
                N_("Too many codes requested from this network. Please try again later.")
            )
    if channel is not None:
        from_channel = session.scalar(
            select(func.count()).where(SmsCode.channel_id == channel.id, SmsCode.created_at > hour_ago)
        )
        if from_channel >= policy.per_channel_per_hour:
            raise CodeRefused(N_("This channel has used its hourly budget of SMS codes. Please try again later."))
    code = f"{secrets.randbelow(10**6):06d}"
    record = SmsCode(
        phone=phone,
        purpose=purpose,
        order_id=order.id if order else None,
        code_hash=_hash(phone, purpose, code),
        client_ip=client_ip,
        channel_id=channel.id if channel else None,
        created_at=now,
        expires_at=now + dt.timedelta(seconds=policy.ttl_seconds),
    )
    session.add(record)
    queue_sms(session, phone, message(code), order=order, expires_at=record.expires_at)
    return record


def use_code(
    session: Session, policy: CodePolicy, *, phone: str, purpose: str, code: str,
    order: Order | None = None,
) -> None:
    """Accept the latest unused code once; count wrong tries against it."""
    query = select(SmsCode).where(
        SmsCode.phone == phone, SmsCode.purpose == purpose, SmsCode.used_at.is_(None)
    )
    if order is not None:
        query = query.where(SmsCode.order_id == order.id)
    record = session.scalars(query.order_by(SmsCode.id.desc()).with_for_update()).first()
    now = utcnow()
    if record is None or record.expires_at <= now:
        raise CodeInvalid(
            N_("The SMS code has expired or was not requested. Please ask for a new one.")
        )
    if record.failed_attempts >= policy.max_attempts:
        raise CodeInvalid(N_("Too many wrong codes. Please ask for a new one."))
    if not hmac.compare_digest(record.code_hash, _hash(phone, purpose, code.strip())):
        record.failed_attempts += 1
        raise CodeInvalid(N_("The SMS code is wrong."))
    record.used_at = now
