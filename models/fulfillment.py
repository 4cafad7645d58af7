"""From a programmed key to the applicant's hands: password cards, the shelf (keys and envelopes),
couriers and parcels."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import Base, created, enum_type, intpk, str20, str40, str120, str255, utcnow
from models.business_time import BUSINESS_TZ
from models.order import Order
from models.order_number import take_next
from models.product import MediaModel
from models.staff import Staff
from models.station import Token


class PasswordCardSequence(Base):
    """The last password card number handed out per year (密码卡号 MK<year><6 digits>)."""

    __tablename__ = "password_card_sequence"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)


def next_password_card_number(session: Session, now: dt.datetime | None = None) -> str:
    year = (now or utcnow()).astimezone(BUSINESS_TZ).year
    return f"MK{year}{take_next(session, PasswordCardSequence, year=year):06d}"


class StockItem(enum.StrEnum):
    KEY = "key"  # per key model, each with its serial
    ENVELOPE = "envelope"  # password card envelopes


class StockMovementKind(enum.StrEnum):
    RECEIVED = "received"  # from the supplier (+)
    USED = "used"  # programmed for an order, or an envelope shipped (-)
    RETURNED = "returned"  # back on the shelf: a key whose job was given up (+)
    WRITTEN_OFF = "written_off"  # damaged or lost on the shelf (-)


class StockMovement(Base):
    """One change of the shelf; the stock is their sum per item and key model."""

    __tablename__ = "stock_movement"
    __table_args__ = (Index("ix_stock_movement_item_model", "item", "media_model_id"),)

    id: Mapped[intpk]
    item: Mapped[StockItem] = mapped_column(enum_type(StockItem, 12))
    media_model_id: Mapped[int | None] = mapped_column(ForeignKey("media_model.id"))
    kind: Mapped[StockMovementKind] = mapped_column(enum_type(StockMovementKind, 12))
    quantity: Mapped[int]  # signed: + onto the shelf, - off it
    token_id: Mapped[int | None] = mapped_column(ForeignKey("token.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id"))
    actor: Mapped[str120]
    note: Mapped[str255 | None]
    at: Mapped[created]

    media_model: Mapped[MediaModel | None] = relationship()
    token: Mapped[Token | None] = relationship()
    order: Mapped[Order | None] = relationship()


class StockLevel(Base):
    """The low-stock threshold of an item (a key model, or the envelopes), set by admin; below it,
    fulfillment and admins are told once, until the stock is back above it."""

    __tablename__ = "stock_level"
    __table_args__ = (UniqueConstraint("item", "media_model_id"),)

    id: Mapped[intpk]
    item: Mapped[StockItem] = mapped_column(enum_type(StockItem, 12))
    media_model_id: Mapped[int | None] = mapped_column(ForeignKey("media_model.id"))
    low_level: Mapped[int] = mapped_column(default=20)
    alerted_at: Mapped[dt.datetime | None]

    media_model: Mapped[MediaModel | None] = relationship()


class Courier(Base):
    """A courier the station ships with (reference data: admin edits it)."""

    __tablename__ = "courier"

    id: Mapped[intpk]
    code: Mapped[str20] = mapped_column(unique=True)  # the tracking service's company code, e.g. "shunfeng"
    name: Mapped[str120]
    name_en: Mapped[str120 | None]
    active: Mapped[bool] = mapped_column(default=True)

    def __str__(self) -> str:
        return self.name


class ShipmentStatus(enum.StrEnum):
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    RETURNED = "returned"  # returned or undeliverable: the order waits to be shipped again


class Shipment(Base):
    """A parcel carrying an order's key and its password card."""

    __tablename__ = "shipment"
    __table_args__ = (UniqueConstraint("courier_id", "tracking_number"),)

    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    courier_id: Mapped[int] = mapped_column(ForeignKey("courier.id"))
    tracking_number: Mapped[str40]
    status: Mapped[ShipmentStatus] = mapped_column(enum_type(ShipmentStatus, 12), default=ShipmentStatus.IN_TRANSIT,
                                                   index=True)
    shipped_at: Mapped[created]
    shipped_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    # The address it went to (the order's may change before a re-shipment).
    recipient: Mapped[str120]
    phone: Mapped[str20]
    address: Mapped[str255]
    delivered_at: Mapped[dt.datetime | None]
    confirmed_by: Mapped[str120 | None]  # staff:<username> by hand, or courier:<code>
    returned_at: Mapped[dt.datetime | None]
    return_reason: Mapped[str255 | None]
    last_checked_at: Mapped[dt.datetime | None]  # with the courier's tracking service

    order: Mapped[Order] = relationship()
    courier: Mapped[Courier] = relationship()
    shipped_by: Mapped[Staff] = relationship()
