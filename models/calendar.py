"""Working-day settings: SLA targets per business type and kind of certificate, and days the official calendar
does not know (or that the CA treats differently)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, enum_type, intpk, str120, str255
from models.order_state import BusinessType, CertKind


class SlaPolicy(Base):
    """Target and hard limit, in working days, for reviewing one business type of unit or of
    personal certificates."""

    __tablename__ = "sla_policy"
    __table_args__ = (UniqueConstraint("business_type", "cert_kind"),)

    id: Mapped[intpk]
    business_type: Mapped[BusinessType] = mapped_column(enum_type(BusinessType))
    cert_kind: Mapped[CertKind] = mapped_column(enum_type(CertKind, 12), default=CertKind.UNIT)
    target_days: Mapped[int]
    limit_days: Mapped[int]
    # Approval to shipping, in working days (the portal promises five).
    shipping_days: Mapped[int] = mapped_column(default=5)


class CalendarOverride(Base):
    """A day declared a working day or a day off by an admin, over the official calendar."""

    __tablename__ = "calendar_override"

    id: Mapped[intpk]
    day: Mapped[dt.date] = mapped_column(Date, unique=True)
    is_workday: Mapped[bool]
    note: Mapped[str255 | None]
    added_by: Mapped[str120]
