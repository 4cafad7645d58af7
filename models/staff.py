"""Staff accounts of the CA: reviewers, fulfillment, finance, admins."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created, enum_type, intpk, str40, str120, str255
from models.sealed import SealedText


class StaffRole(enum.StrEnum):
    REVIEWER = "reviewer"
    SENIOR_REVIEWER = "senior_reviewer"
    FULFILLMENT = "fulfillment"
    FINANCE = "finance"
    ADMIN = "admin"


# Roles that work the review queues; a senior reviewer may do all a reviewer does.
REVIEW_ROLES = frozenset({StaffRole.REVIEWER, StaffRole.SENIOR_REVIEWER})


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[intpk]
    username: Mapped[str40] = mapped_column(unique=True)
    display_name: Mapped[str120]
    email: Mapped[str255 | None]
    role: Mapped[StaffRole] = mapped_column(enum_type(StaffRole, 20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created]
    # Second factor: the TOTP secret is sealed; it counts once confirmed by a first code.
    totp_secret: Mapped[str | None] = mapped_column(SealedText("staff.totp_secret"))
    totp_confirmed_at: Mapped[dt.datetime | None]
    # The last TOTP time step accepted, so one code cannot be used twice.
    totp_last_step: Mapped[int | None]
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    last_login_at: Mapped[dt.datetime | None]
    # A senior reviewer marks a reviewer absent: re-submitted materials then go to the queue, not to them.
    absent_since: Mapped[dt.datetime | None]

    # Flask-Login's user protocol, written out so models need not import Flask.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)

    def is_locked(self, now: dt.datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    @property
    def actor(self) -> str:
        """How this person appears in the audit log."""
        return f"staff:{self.username}"

    def __str__(self) -> str:
        return self.display_name
