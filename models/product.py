"""The certificate catalogue: products, key media and prices."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, enum_type, intpk, str20, str40, str120
from models.certificate import CertificateProfile
from models.order_state import BusinessType, CertKind


class Product(Base):
    __tablename__ = "product"

    id: Mapped[intpk]
    code: Mapped[str40] = mapped_column(unique=True)
    name: Mapped[str120]
    name_en: Mapped[str120]
    cert_kind: Mapped[CertKind] = mapped_column(enum_type(CertKind, 12))
    validity_months: Mapped[int] = mapped_column(default=12)
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal("0.06"))
    active: Mapped[bool] = mapped_column(default=True)
    # How its certificates are made (key types, usages, policy); see models.certificate.
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("certificate_profile.id"))

    prices: Mapped[list[Price]] = relationship(back_populates="product")
    profile: Mapped[CertificateProfile | None] = relationship()

    def __str__(self) -> str:
        return self.name


class MediaModel(Base):
    """A model of USB key the CA sells (UKEY-RS, UKEY-G)."""

    __tablename__ = "media_model"

    id: Mapped[intpk]
    code: Mapped[str20] = mapped_column(unique=True)
    name: Mapped[str120]
    name_en: Mapped[str120 | None]  # the English page shows `name` when there is none
    price_cents: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    def __str__(self) -> str:
        return self.name


class Price(Base):
    """What a product costs for a business type; a channel may have its own price."""

    __tablename__ = "price"
    __table_args__ = (UniqueConstraint("product_id", "channel_id", "business_type"),)

    id: Mapped[intpk]
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id"))
    business_type: Mapped[BusinessType] = mapped_column(
        enum_type(BusinessType, 20)
    )
    amount_cents: Mapped[int]

    product: Mapped[Product] = relationship(back_populates="prices")
