"""Renewal reminders (证书到期提醒): which were sent for a certificate, and the applicants who asked
for none. An organisation is one row per application (models.organisation), so an opt-out names the
applicant the way models.holders.same_applicant finds one: a unit's credit code, a personal
certificate's holder by subject serial (a keyed digest, never the ID number)."""
from __future__ import annotations

import enum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created, enum_type, intpk, str120


class ReminderStage(enum.StrEnum):
    """When a renewal reminder goes out, by days left to the expiry date (models.renewal.days_left)."""

    DAYS_90 = "days_90"
    DAYS_30 = "days_30"
    DAYS_7 = "days_7"
    EXPIRED = "expired"  # the day after the expiry date


class RenewalReminder(Base):
    """A reminder sent: at most one per certificate and stage, however often or concurrently the
    scheduled command runs (the unique constraint decides)."""

    __tablename__ = "renewal_reminder"
    __table_args__ = (UniqueConstraint("certificate_id", "stage"),)

    id: Mapped[intpk]
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), index=True)
    stage: Mapped[ReminderStage] = mapped_column(enum_type(ReminderStage, 12))
    sent_at: Mapped[created]


class ReminderOptOut(Base):
    """An applicant who wants no renewal reminders: "unit:<credit code>" or "personal:<subject serial>"."""

    __tablename__ = "reminder_opt_out"

    id: Mapped[intpk]
    applicant: Mapped[str] = mapped_column(String(60), unique=True)
    opted_out_by: Mapped[str120]  # an actor: staff:<username>, applicant, cli
    opted_out_at: Mapped[created]
