"""A certificate issued for an order and written to a key."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created, intpk, str40, str255


class Certificate(Base):
    __tablename__ = "certificate"

    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    serial_number: Mapped[str] = mapped_column(String(40), unique=True)
    subject: Mapped[str255]
    not_before: Mapped[dt.datetime]
    not_after: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(12), default="valid")
    media_serial: Mapped[str40 | None]  # 介质号: the token's serial
    password_card_number: Mapped[str40 | None]  # 密码卡号
    created_at: Mapped[created]
