"""The organisation as stated in an application (one row per application)."""
from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, intpk, str20, str120, str255


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[intpk]
    name: Mapped[str255]
    department: Mapped[str120 | None]
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    region_province: Mapped[str] = mapped_column(String(6))
    region_city: Mapped[str] = mapped_column(String(6))
    phone: Mapped[str20 | None]
