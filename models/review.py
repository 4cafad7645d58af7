"""What reviewers produce: decisions, requests for more materials, identity checks,
and the reference data they use (rejection reasons, the deny list)."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from models.base import Base, created, digest, enum_type, intpk, str40, str120, str255
from models.sealed import SealedText, lookup_digest, mask
from models.staff import Staff


class ReviewQueue(enum.StrEnum):
    """One queue per kind of review work."""

    NEW = "new"
    REPLACEMENT = "replacement"
    INFO_CHANGE = "info_change"
    REVOCATION = "revocation"
    RESUBMITTED = "resubmitted"  # materials re-uploaded after a reviewer asked for more
    PERSONAL = "personal"  # personal certificates (个人数字证书), every business type


class Decision(enum.StrEnum):
    APPROVE = "approve"
    FIRST_APPROVAL = "first_approval"  # dual control: waits for a second senior reviewer
    REJECT = "reject"
    MORE_MATERIALS = "more_materials"


class ReviewDecision(Base):
    """One reviewer's decision on an order, with the checklist they filled in."""

    __tablename__ = "review_decision"
    # The reports' decisions in a range (percentiles, per reviewer, rejections) read this index alone.
    __table_args__ = (Index("ix_review_decision_decided_at", "decided_at", "decision", "working_seconds",
                            "staff_id"),)

    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    decision: Mapped[Decision] = mapped_column(enum_type(Decision, 20))
    # {"<material id>": {"legible": true, "seal_present": false, ...}}
    checklist: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason_ids: Mapped[list[int] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[created]
    # Working seconds the order's SLA clock had run when decided (from entering review, the waits for
    # the applicant's materials left out), so reports take percentiles without a calendar in SQL;
    # None for an order whose clock never started.
    working_seconds: Mapped[int | None]

    staff: Mapped[Staff] = relationship()


class RejectionReason(Base):
    """A reason template reviewers pick when rejecting or asking for more; admin-managed."""

    __tablename__ = "rejection_reason"

    id: Mapped[intpk]
    text_zh: Mapped[str255]
    text_en: Mapped[str255]
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)
    # The failing checks that pre-select it, "<material kind>:<check>" comma-separated ("*:names_match"
    # for a check of any document): the reviewer marks what fails and the reasons follow.
    applies_to: Mapped[str255 | None]

    def __str__(self) -> str:
        return self.text_zh


class MaterialRequest(Base):
    """A reviewer's request for more materials; the applicant's link carries its token."""

    __tablename__ = "material_request"

    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    kinds: Mapped[list[str]] = mapped_column(JSON)
    message: Mapped[str | None] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The link's token itself, sealed: the day-7 and day-14 reminders carry the link the request sent.
    token: Mapped[str | None] = mapped_column(SealedText("material_request.token"))
    requested_at: Mapped[created]
    expires_at: Mapped[dt.datetime]
    fulfilled_at: Mapped[dt.datetime | None]
    reminded_on_day: Mapped[int | None]  # the last reminder sent (7 or 14: review.material_deadlines)
    lapsed_at: Mapped[dt.datetime | None]  # its days ran out and the order was cancelled


class CheckOutcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    PENDING = "pending"
    ERROR = "error"  # the verifier could not be reached; try again


class IdentityCheck(Base):
    """The result of one identity verification call for an order."""

    __tablename__ = "identity_check"

    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    method: Mapped[str40]  # corporate_transfer, legal_rep_phone, legal_rep_bank_card, agent_*
    outcome: Mapped[CheckOutcome] = mapped_column(enum_type(CheckOutcome, 12))
    detail: Mapped[str255 | None]
    provider_ref: Mapped[str40 | None]
    checked_at: Mapped[created]


class DenyListEntry(Base):
    """An ID number the CA will not issue to; matched by its keyed digest."""

    __tablename__ = "deny_list_entry"

    id: Mapped[intpk]
    id_number: Mapped[str] = mapped_column(SealedText("deny_list_entry.id_number"))
    id_number_digest: Mapped[digest] = mapped_column(unique=True)
    reason: Mapped[str255]
    added_by: Mapped[str120]
    created_at: Mapped[created]
    active: Mapped[bool] = mapped_column(default=True)

    @validates("id_number")
    def _digest(self, _key: str, value: str) -> str:
        value = value.strip().upper()
        self.id_number_digest = lookup_digest(value)
        return value

    @property
    def id_number_masked(self) -> str:
        return mask(self.id_number, 4, 4)


class OrderNote(Base):
    """A note staff keep on an order for each other: never shown to the applicant, audited."""

    __tablename__ = "order_note"

    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[created]

    staff: Mapped[Staff] = relationship()
