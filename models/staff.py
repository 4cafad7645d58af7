"""Staff accounts of the CA: reviewers, fulfillment, finance, admins."""
from __future__ import annotations

import enum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created, enum_type, intpk, str40, str120


class StaffRole(enum.StrEnum):
    REVIEWER = "reviewer"
    SENIOR_REVIEWER = "senior_reviewer"
    FULFILLMENT = "fulfillment"
    FINANCE = "finance"
    ADMIN = "admin"


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[intpk]
    username: Mapped[str40] = mapped_column(unique=True)
    display_name: Mapped[str120]
    role: Mapped[StaffRole] = mapped_column(enum_type(StaffRole, 20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created]

    # Flask-Login's user protocol, written out so models need not import Flask.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)
