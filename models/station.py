"""The key programming station: stations and their agents' credentials, the USB keys (tokens) the CA
has seen, the programming jobs that turn an approved order into a programmed key, and the keys that
come back by post once their certificate is revoked, to be wiped."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from models.audit import record
from models.base import Base, created, enum_type, intpk, str20, str40, str64, str120, utcnow
from models.order import Order
from models.product import MediaModel
from models.sealed import SealedText
from models.staff import Staff
from models.token_state import TokenState, check_token_transition


class Station(Base):
    """A station PC with keys plugged in, where an agent runs. The agent signs in with a credential
    admin issues (shown once), rotates and revokes; only its SHA-256 is kept (it is 256 random bits)."""

    __tablename__ = "station"

    id: Mapped[intpk]
    name: Mapped[str40] = mapped_column(unique=True)
    credential_sha256: Mapped[str64 | None]
    credential_issued_at: Mapped[dt.datetime | None]
    credential_revoked_at: Mapped[dt.datetime | None]
    last_seen_at: Mapped[dt.datetime | None]
    # The keys the agent saw at its last poll: [{"serial", "label", "model", "blank"}].
    tokens_seen: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[created]

    def __str__(self) -> str:
        return self.name


class Token(Base):
    """A USB key (UKEY) the CA has programmed or seen, by its serial (the media number, 介质号)."""

    __tablename__ = "token"

    id: Mapped[intpk]
    serial: Mapped[str40] = mapped_column(unique=True)
    model: Mapped[str40]  # as the key reports it
    media_model_id: Mapped[int | None] = mapped_column(ForeignKey("media_model.id"))
    state: Mapped[TokenState] = mapped_column(enum_type(TokenState, 12), default=TokenState.BLANK)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id"), index=True)  # bound to
    # Set by the programming job, kept sealed for later unlocks at the station.
    so_pin: Mapped[str | None] = mapped_column(SealedText("token.so_pin"))
    # Wrong PIN logins the product drove since the last right one: real keys lock after 10.
    wrong_user_pins: Mapped[int] = mapped_column(default=0)
    wrong_so_pins: Mapped[int] = mapped_column(default=0)
    resets: Mapped[int] = mapped_column(default=0)  # C_InitToken
    enrolments: Mapped[int] = mapped_column(default=0)  # certificates written and verified
    renewals: Mapped[int] = mapped_column(default=0)
    first_seen_at: Mapped[created]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    order: Mapped[Order | None] = relationship()
    media_model: Mapped[MediaModel | None] = relationship()

    def move_to(self, target: TokenState, actor: str, note: str | None = None) -> None:
        """The only way a key changes state: checked and audited."""
        check_token_transition(self.state, target)
        before, self.state = self.state, target
        record(object_session(self), actor, "token.state", order=self.order, target=f"token:{self.serial}",
               before={"state": str(before)}, after={"state": str(target)}, note=note)


class JobStatus(enum.StrEnum):
    CLAIMED = "claimed"  # a fulfillment staff member holds it, not started
    QUEUED = "queued"  # started on a station: the agent takes it at its next poll
    RUNNING = "running"  # the agent is programming the key
    INTERRUPTED = "interrupted"  # cut off or refused: resume, or wipe and redo
    DONE = "done"


ACTIVE_JOB = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})


class ProgrammingJob(Base):
    """Programming one order's key: one job per order; a wipe and redo is its next attempt (the
    signing service knows each attempt by `signing_job_id`, so a replay gets the same certificate)."""

    __tablename__ = "programming_job"
    # Jobs done in a range: the dashboard's keys programmed, the station's list of the day's work.
    __table_args__ = (Index("ix_programming_job_status_finished_at", "status", "finished_at"),)

    id: Mapped[intpk]
    public_id: Mapped[str20] = mapped_column(unique=True)  # what the agent and the pages name
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), unique=True)
    status: Mapped[JobStatus] = mapped_column(enum_type(JobStatus, 12))
    claimed_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    claimed_at: Mapped[created]
    station_id: Mapped[int | None] = mapped_column(ForeignKey("station.id"), index=True)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("token.id"))
    media_serial: Mapped[str40 | None]
    attempt: Mapped[int] = mapped_column(default=1)
    step: Mapped[str | None] = mapped_column(String(24))  # the last step done (protocol.station.Step)
    resume: Mapped[bool] = mapped_column(default=False)
    wipe: Mapped[bool] = mapped_column(default=False)
    batch: Mapped[bool] = mapped_column(default=False)  # the next job opens by itself when this one is done
    so_pin: Mapped[str] = mapped_column(SealedText("programming_job.so_pin"))
    key_id: Mapped[str40]  # hex
    challenge: Mapped[str64]  # hex
    started_at: Mapped[dt.datetime | None]
    taken_at: Mapped[dt.datetime | None]  # by the agent
    finished_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    interruption: Mapped[str40 | None]  # a protocol.station.FAILURES code, or "cut_off"
    interruption_message: Mapped[str120 | None]

    order: Mapped[Order] = relationship()
    claimed_by: Mapped[Staff] = relationship()
    station: Mapped[Station | None] = relationship()
    token: Mapped[Token | None] = relationship()
    steps: Mapped[list[ProgrammingStep]] = relationship(order_by="ProgrammingStep.id", back_populates="job")

    @property
    def signing_job_id(self) -> str:
        return f"{self.public_id}-{self.attempt}"


class ProgrammingStep(Base):
    """A step the agent reported, with its time: what the job page shows as it happens."""

    __tablename__ = "programming_step"

    id: Mapped[intpk]
    job_id: Mapped[int] = mapped_column(ForeignKey("programming_job.id"), index=True)
    attempt: Mapped[int]
    step: Mapped[str] = mapped_column(String(24))
    at: Mapped[created]
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    job: Mapped[ProgrammingJob] = relationship(back_populates="steps")


class ReturnStatus(enum.StrEnum):
    QUEUED = "queued"  # received: the agent of the station it is plugged in at wipes it at its next poll
    RUNNING = "running"  # the agent is wiping it
    FAILED = "failed"  # the wipe failed: the key stays revoked; staff may try again
    DONE = "done"  # wiped and verified: blank again


class KeyReturn(Base):
    """A key sent back by post after its certificate was revoked: received at the station (who, when),
    wiped there by the agent (C_InitToken, the transport SO PIN back, checked empty) and, when it came
    from the shelf, put back on it. One open return per key; a failed wipe is tried again on the same row."""

    __tablename__ = "key_return"
    __table_args__ = (Index("uq_key_return_token_open", "token_id", unique=True,
                            sqlite_where=text("status != 'done'"), postgresql_where=text("status != 'done'")),)

    id: Mapped[intpk]
    public_id: Mapped[str20] = mapped_column(unique=True)  # what the agent names
    token_id: Mapped[int] = mapped_column(ForeignKey("token.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id"), index=True)  # the key's order when it came
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), index=True)  # where it is plugged in
    status: Mapped[ReturnStatus] = mapped_column(enum_type(ReturnStatus, 12), index=True)
    received_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    received_at: Mapped[created]
    from_shelf: Mapped[bool]  # a shelf key goes back on the shelf; an applicant's own key is kept for them
    attempt: Mapped[int] = mapped_column(default=1)
    taken_at: Mapped[dt.datetime | None]  # by the agent
    finished_at: Mapped[dt.datetime | None]
    error: Mapped[str40 | None]  # a protocol.station.FAILURES code, or "cut_off"
    message: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    token: Mapped[Token] = relationship()
    order: Mapped[Order | None] = relationship()
    station: Mapped[Station] = relationship()
    received_by: Mapped[Staff] = relationship()


class UnlockStatus(enum.StrEnum):
    QUEUED = "queued"  # received: the agent of the station it is plugged in at unlocks it at its next poll
    RUNNING = "running"  # the agent is unlocking it
    FAILED = "failed"  # the unlock failed: the key stays locked; staff may try again
    DONE = "done"  # unlocked and checked: the new user PIN went to the legal representative


class KeyUnlock(Base):
    """A key locked by wrong user PINs, mailed in and unlocked at the station (证书解锁 by post): received
    (who, when), unlocked there by the agent with the key's SO PIN (a new user PIN, a new SO PIN at
    once), then mailed back. The new PINs are made once, kept sealed while the unlock is open (a retry
    sets the same ones) and forgotten here once it is done. One open unlock per key."""

    __tablename__ = "key_unlock"
    __table_args__ = (Index("uq_key_unlock_token_open", "token_id", unique=True,
                            sqlite_where=text("status != 'done'"), postgresql_where=text("status != 'done'")),)

    id: Mapped[intpk]
    public_id: Mapped[str20] = mapped_column(unique=True)  # what the agent names
    token_id: Mapped[int] = mapped_column(ForeignKey("token.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)  # the key's order
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), index=True)  # where it is plugged in
    status: Mapped[UnlockStatus] = mapped_column(enum_type(UnlockStatus, 12), index=True)
    received_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    received_at: Mapped[created]
    user_pin: Mapped[str | None] = mapped_column(SealedText("key_unlock.user_pin"))
    so_pin: Mapped[str | None] = mapped_column(SealedText("key_unlock.so_pin"))
    attempt: Mapped[int] = mapped_column(default=1)
    taken_at: Mapped[dt.datetime | None]  # by the agent
    finished_at: Mapped[dt.datetime | None]
    error: Mapped[str40 | None]  # a protocol.station.FAILURES code, or "cut_off"
    message: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    token: Mapped[Token] = relationship()
    order: Mapped[Order] = relationship()
    station: Mapped[Station] = relationship()
    received_by: Mapped[Staff] = relationship()
