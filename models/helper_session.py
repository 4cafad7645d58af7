"""A page of the public form working with the key helper on the applicant's PC (protocol.helper):
renewal, unlock or information change with the key plugged in there.

The page shows a one-time pairing code; the helper started with it is this session's only helper
(its credential's SHA-256 is kept, never the credential). The helper reports the keys it sees; the
session identifies the key and its certificate from them, proves the key password with a login
task, and hands out the one piece of key work its service needs (a renewal's new key pair and
certificate, or an unlock), resumable after a cut-off helper. Steps are kept for the page to show.
"""
from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, created, enum_type, intpk, str20, str40, str64, str120, utcnow
from models.certificate import Certificate
from models.channel import Channel
from models.order import Order
from models.sealed import SealedText
from models.station import Token


class HelperPurpose(enum.StrEnum):
    RENEWAL = "renewal"
    UNLOCK = "unlock"
    INFO_CHANGE = "info_change"


class HelperTaskStatus(enum.StrEnum):
    QUEUED = "queued"  # the next poll hands it out
    RUNNING = "running"  # the helper has it
    FAILED = "failed"  # the helper said why; the page offers to try again
    DONE = "done"


class HelperSession(Base):
    __tablename__ = "helper_session"

    id: Mapped[intpk]
    public_id: Mapped[str20] = mapped_column(unique=True)  # in the page's URL and the helper's tasks
    purpose: Mapped[HelperPurpose] = mapped_column(enum_type(HelperPurpose, 12))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"))
    browser_hash: Mapped[str64]  # SHA-256 of the secret in the applicant's browser session
    created_at: Mapped[created]
    expires_at: Mapped[dt.datetime]  # the whole session's end: a page left open does not live for ever
    ended_at: Mapped[dt.datetime | None]
    outcome: Mapped[str20 | None]  # done, cancelled, expired

    pairing_code_sha256: Mapped[str64 | None] = mapped_column(index=True)  # None once used
    code_expires_at: Mapped[dt.datetime | None]
    credential_sha256: Mapped[str64 | None] = mapped_column(unique=True)
    paired_at: Mapped[dt.datetime | None]
    last_seen_at: Mapped[dt.datetime | None]
    # The keys the helper saw at its last poll: [{"serial", "label", "model", "user_pin_locked",
    # "certificates": [serial hex, ...]}] (certificates by serial only; their PEM is not kept).
    keys_seen: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    problem: Mapped[str40 | None]  # why no key could be worked on yet (e.g. two keys plugged in)

    token_id: Mapped[int | None] = mapped_column(ForeignKey("token.id"))
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"))  # the key's, identified
    login_challenge: Mapped[str64 | None]  # hex
    logged_in_at: Mapped[dt.datetime | None]  # the key password proven by a signature
    authorised_at: Mapped[dt.datetime | None]  # an unlock's one-time authorisation (code checked)
    authorised_by: Mapped[str20 | None]  # identity or sms: how the unlock was authorised
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id"), index=True)  # the order it serves

    task_kind: Mapped[str20 | None]  # protocol.helper.TaskKind
    task_status: Mapped[HelperTaskStatus | None] = mapped_column(enum_type(HelperTaskStatus, 12))
    task_attempt: Mapped[int] = mapped_column(default=1)
    key_id: Mapped[str40 | None]  # hex: the renewal's new key pair
    challenge: Mapped[str64 | None]  # hex: signed with the new key at the end
    so_pin: Mapped[str | None] = mapped_column(SealedText("helper_session.so_pin"))  # an unlock's new SO PIN
    error: Mapped[str40 | None]
    message: Mapped[str120 | None]
    # [{"step", "at"}]: what the page shows as it happens.
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    channel: Mapped[Channel] = relationship()
    token: Mapped[Token | None] = relationship()
    certificate: Mapped[Certificate | None] = relationship()
    order: Mapped[Order | None] = relationship()

    @property
    def task_id(self) -> str:
        """What the helper and the signing service know this piece of key work by."""
        return f"{self.public_id}-{self.task_attempt}"

    def add_step(self, step: str) -> None:
        self.steps = [*(self.steps or []), {"step": step[:24], "at": utcnow().isoformat(timespec="seconds")}][-40:]

