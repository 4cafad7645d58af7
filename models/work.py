"""The workers' queue: work a request leaves for later (an invoice to issue and render), and the
scheduled commands, each due at a time of its own.

Any number of worker processes share them. A worker takes an item by claiming it in a short
transaction of its own (web.database.claim: `FOR UPDATE SKIP LOCKED` on PostgreSQL, the write lock
and a conditional UPDATE on SQLite), which also sets a lease: an item whose worker died is due again
when the lease runs out, so nothing is lost and nothing runs twice at once.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created, enum_type, intpk, str40, timestamp, utcnow


class WorkStatus(enum.StrEnum):
    QUEUED = "queued"  # due at `due_at`: the first time, or again after a failure or a lost worker
    RUNNING = "running"  # a worker holds it until `due_at`, its lease
    DONE = "done"
    FAILED = "failed"  # the last attempt failed: a person looks (the worker's log, the health page)


class WorkItem(Base):
    """One piece of work of a kind a package registered (web.jobs), about one row (`subject_id`)."""

    __tablename__ = "work_item"
    __table_args__ = (Index("ix_work_item_due", "status", "due_at"),)

    id: Mapped[intpk]
    kind: Mapped[str40]
    subject_id: Mapped[int]
    status: Mapped[WorkStatus] = mapped_column(enum_type(WorkStatus, 12), default=WorkStatus.QUEUED)
    due_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    worker: Mapped[str | None] = mapped_column(String(120))  # who holds it or last held it
    error: Mapped[str | None] = mapped_column(Text)  # of the last failed attempt
    created_at: Mapped[created]
    finished_at: Mapped[timestamp | None]


class ScheduledRun(Base):
    """Where one scheduled command stands: when it is next due, and how its last run went."""

    __tablename__ = "scheduled_run"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)  # the command, e.g. "billing sweep"
    due_at: Mapped[timestamp]  # its next run; while it runs, the end of the running worker's lease
    running_on: Mapped[str | None] = mapped_column(String(120))
    started_at: Mapped[timestamp | None]
    finished_at: Mapped[timestamp | None]
    succeeded: Mapped[bool | None]
    output: Mapped[str | None] = mapped_column(Text)  # what the last run printed, its end kept
    runs: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)  # in a row; 0 after a success
