"""Materials (uploaded documents) of an order."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created, enum_type, intpk, str40, str120


class MaterialKind(enum.StrEnum):
    BUSINESS_LICENCE = "business_licence"  # copy with the organisation's seal
    AGENT_ID_FRONT = "agent_id_front"  # portrait side
    AGENT_ID_BACK = "agent_id_back"  # national emblem side
    ESEAL_SAMPLE_FORM = "eseal_sample_form"  # organisation e-seal sample form
    AUTHORISATION_LETTER = "authorisation_letter"  # legal representative's, sealed
    PAYMENT_PROOF = "payment_proof"  # 付款凭证: the bank transfer's receipt (replacement)


class Material(Base):
    __tablename__ = "material"

    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    kind: Mapped[MaterialKind] = mapped_column(enum_type(MaterialKind, 24))
    # Random name of the re-encoded file in the upload store; never the applicant's name.
    stored_name: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str40]
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int]
    height: Mapped[int]
    original_filename: Mapped[str120 | None]
    uploaded_by: Mapped[str120]
    uploaded_at: Mapped[created]
    # A replaced material is kept (records are retained), only marked superseded.
    superseded_at: Mapped[dt.datetime | None]
