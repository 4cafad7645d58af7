"""An order: one application for one business type, from form to shipped key."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship, validates

from models.audit import AuditEntry
from models.base import (
    Base,
    created,
    digest,
    enum_type,
    intpk,
    str20,
    str120,
    str255,
    utcnow,
)
from models.channel import Channel
from models.order_state import BusinessType, CertKind, OrderStatus, check_transition
from models.organisation import Organisation
from models.person import Person
from models.product import MediaModel, Product
from models.review import ReviewQueue
from models.sealed import SealedText, lookup_digest, mask, mask_numbers_in
from models.staff import Staff


class IdentityMethod(enum.StrEnum):
    """How the organisation proves itself; decides how the certificate password travels."""

    CORPORATE_TRANSFER = "corporate_transfer"  # password in a 0.01-yuan transfer memo
    LEGAL_REP_PHONE = "legal_rep_phone"  # password by SMS to the legal representative
    LEGAL_REP_BANK_CARD = "legal_rep_bank_card"  # password by SMS to the legal representative


class AgentIdentityMethod(enum.StrEnum):
    PHONE = "phone"
    BANK_CARD = "bank_card"


# A revocation order not yet closed (models.order_state.CLOSED), as SQL for a partial index.
OPEN_REVOCATION = "business_type = 'revocation' AND status NOT IN ('cancelled', 'completed', 'rejected')"

# When an order enters a status, this timestamp records it.
_STAMPS = {
    OrderStatus.AWAITING_SIGNATURE: "materials_completed_at",
    OrderStatus.AWAITING_PAYMENT: "signed_at",
    OrderStatus.PAID: "paid_at",
    OrderStatus.APPROVED: "approved_at",
    OrderStatus.REJECTED: "rejected_at",
    OrderStatus.COMPLETED: "completed_at",
    OrderStatus.CANCELLED: "cancelled_at",
}
# Stamped the first time only: an order comes back to PAID after a release, a first approval or
# re-submitted materials, and to APPROVED when a station job is given up, yet it was paid (and
# decided) once. The review queue's own "entered at" is the SLA clock's sla_started_at.
_FIRST_TIME_ONLY = frozenset({OrderStatus.PAID, OrderStatus.APPROVED})


class Order(Base):
    __tablename__ = "order"
    # The queue page walks this index: one queue, by SLA due time, keyset on (due, id). A certificate
    # has at most one open revocation order, even when the applicant submits twice at once.
    # The reports (reports.dashboard, reports.tables) read the others alone, never the wide rows: the
    # backlog by status, queue and due or start time (also any lookup by status); the orders decided in
    # a range (approved or rejected); the orders created in a range by channel and business type.
    __table_args__ = (Index("ix_order_queue_due", "queue", "sla_due_at", "id"),
                      Index("uq_order_open_revocation", "certificate_id", unique=True,
                            sqlite_where=text(OPEN_REVOCATION), postgresql_where=text(OPEN_REVOCATION)),
                      Index("ix_order_status_queue", "status", "queue", "sla_due_at", "sla_started_at"),
                      Index("ix_order_decided_at", func.coalesce(text("approved_at"), text("rejected_at"))),
                      Index("ix_order_created_at", "created_at", "channel_id", "business_type"))

    id: Mapped[intpk]
    number: Mapped[str] = mapped_column(String(20), unique=True)
    business_type: Mapped[BusinessType] = mapped_column(enum_type(BusinessType))
    cert_kind: Mapped[CertKind] = mapped_column(enum_type(CertKind))
    status: Mapped[OrderStatus] = mapped_column(enum_type(OrderStatus))  # indexed by ix_order_status_queue
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    media_type: Mapped[str20]
    media_model_id: Mapped[int | None] = mapped_column(ForeignKey("media_model.id"))
    # A unit certificate's: how the organisation proves itself. A personal certificate has none (the
    # holder proves themselves by agent_identity_method, and the password goes by SMS to them).
    identity_method: Mapped[IdentityMethod | None] = mapped_column(enum_type(IdentityMethod))
    agent_identity_method: Mapped[AgentIdentityMethod] = mapped_column(
        enum_type(AgentIdentityMethod)
    )
    # A unit certificate names an organisation and its legal representative; a personal certificate
    # (cert_kind PERSONAL) neither: its holder is the person in the agent's place (Order.holder).
    # Indexed: the review screen finds one applicant's other orders (models.holders.same_applicant) and
    # the organisations sharing a phone number through them.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    legal_rep_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)

    # The organisation's corporate account and taxpayer ID (a personal certificate has neither).
    account_name: Mapped[str255 | None]
    account_number: Mapped[str | None] = mapped_column(SealedText("order.account_number"))
    account_number_digest: Mapped[digest | None]
    bank_name: Mapped[str120 | None]
    bank_province: Mapped[str | None] = mapped_column(String(6))
    bank_city: Mapped[str | None] = mapped_column(String(6))

    invoice_taxpayer_id: Mapped[str | None] = mapped_column(String(20))
    invoice_address_phone: Mapped[str255 | None]
    # Free text with an account number in it: sealed like the other bank numbers.
    invoice_bank_account: Mapped[str | None] = mapped_column(
        SealedText("order.invoice_bank_account")
    )

    mailing_province: Mapped[str] = mapped_column(String(6))
    mailing_city: Mapped[str] = mapped_column(String(6))
    mailing_address: Mapped[str255]

    price_cents: Mapped[int]
    # SHA-256 of the applicant's browser-session secret: who may see the uploads.
    applicant_session_hash: Mapped[str | None] = mapped_column(String(64))

    created_at: Mapped[created]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    materials_completed_at: Mapped[dt.datetime | None]
    signed_at: Mapped[dt.datetime | None]
    paid_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]
    approved_at: Mapped[dt.datetime | None]
    rejected_at: Mapped[dt.datetime | None]

    # Review: which queue the order waits in, who holds it, and its working-day clock.
    queue: Mapped[ReviewQueue | None] = mapped_column(enum_type(ReviewQueue, 20))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    claimed_at: Mapped[dt.datetime | None]
    sla_started_at: Mapped[dt.datetime | None]
    sla_due_at: Mapped[dt.datetime | None]  # the target (e.g. result notice in 3 working days)
    sla_limit_at: Mapped[dt.datetime | None]  # the hard limit (e.g. 5 working days)
    # While the applicant is asked for more materials the clock stands still: the
    # working seconds left to the target and to the limit are kept here.
    sla_paused_target_seconds: Mapped[int | None]
    sla_paused_limit_seconds: Mapped[int | None]
    # Dual control: the first of two senior approvals.
    first_approver_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    first_approved_at: Mapped[dt.datetime | None]
    # Generated at approval, sent by the chosen method, held sealed until the key is
    # programmed with it (then destroyed).
    certificate_password: Mapped[str | None] = mapped_column(
        SealedText("order.certificate_password")
    )
    # The password card (密码卡) that goes with the key: numbered when the key is programmed,
    # printed (with the PIN only where the CA prints it) before shipping, never stored.
    password_card_number: Mapped[str | None] = mapped_column(String(20), unique=True, index=True)
    password_card_printed_at: Mapped[dt.datetime | None]
    # A deny-list match blocks approval until a senior reviewer overrides it with a written reason.
    risk_overridden_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    risk_override_reason: Mapped[str | None] = mapped_column(Text)
    # The retention rule removed the order's personal data and documents (documents.retention):
    # pages say so instead of showing the emptied fields.
    purged_at: Mapped[dt.datetime | None]
    # After-sale orders (models.business.AFTER_SALE): the earlier order they continue, the
    # certificate they concern, and for a revocation or replacement the RFC 5280 reason its
    # certificate is revoked with (asked for; keyCompromise for a lost key, superseded for a
    # damaged one).
    previous_order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id"), index=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"), index=True)
    revocation_reason: Mapped[int | None]  # models.certificate.RevocationReason
    revocation_note: Mapped[str | None] = mapped_column(Text)  # the applicant's own words on a revocation
    # 签章服务 chosen on a renewal or information change (models.business.SEAL_SERVICES).
    seal_services: Mapped[list[str] | None] = mapped_column(JSON)
    # Where a renewal's, unlock's or information change's key work was done: "helper" (the key at the
    # applicant's PC) or "station" (mailed in).
    key_work: Mapped[str20 | None]

    channel: Mapped[Channel] = relationship()
    product: Mapped[Product] = relationship()
    media_model: Mapped[MediaModel | None] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    legal_rep: Mapped[Person | None] = relationship(foreign_keys=[legal_rep_id])
    agent: Mapped[Person] = relationship(foreign_keys=[agent_id])
    reviewer: Mapped[Staff | None] = relationship(foreign_keys=[reviewer_id])
    first_approver: Mapped[Staff | None] = relationship(foreign_keys=[first_approver_id])
    risk_overridden_by: Mapped[Staff | None] = relationship(foreign_keys=[risk_overridden_by_id])
    previous_order: Mapped[Order | None] = relationship(remote_side="Order.id", foreign_keys=[previous_order_id])
    certificate = relationship("Certificate", foreign_keys=[certificate_id])
    audit_entries: Mapped[list[AuditEntry]] = relationship(
        order_by=AuditEntry.id, back_populates="order"
    )

    @validates("account_number")
    def _digest_account(self, _key: str, value: str | None) -> str | None:
        self.account_number_digest = lookup_digest(value) if value else None
        return value

    @property
    def personal(self) -> bool:
        """A personal certificate's order (个人数字证书): no organisation, the holder applies."""
        return self.cert_kind is CertKind.PERSONAL

    @property
    def holder(self) -> Person:
        """Who applies for a personal certificate and holds it: the person in the agent's place."""
        return self.agent

    @property
    def holder_name(self) -> str:
        """Whose certificate it is, as pages and documents name it: the organisation, or the person."""
        return self.agent.name if self.personal else self.organisation.name

    @property
    def invoice_title(self) -> str:
        """The invoice title is always the organisation's (or the holder's) name; nobody may edit it."""
        return self.holder_name

    @property
    def account_number_masked(self) -> str:
        return mask(self.account_number, 4, 4)

    @property
    def invoice_bank_account_masked(self) -> str:
        return mask_numbers_in(self.invoice_bank_account)

    @property
    def own_key(self) -> bool:
        return self.media_model_id is None

    def move_to(self, target: OrderStatus, actor: str, note: str | None = None) -> None:
        """The only way an order changes status: checked, stamped and audited."""
        check_transition(self.status, target)
        before = self.status
        self.status = target
        if target in _STAMPS and not (target in _FIRST_TIME_ONLY and getattr(self, _STAMPS[target]) is not None):
            setattr(self, _STAMPS[target], utcnow())
        entry = AuditEntry(actor=actor, action="order.status", before={"status": str(before)},
                           after={"status": str(target)}, note=note)
        session = object_session(self)
        if session is None:  # a new order: the entry goes with it into the session
            self.audit_entries.append(entry)
        else:  # from the entry's side, as models.record does: appending would first load the whole history
            entry.order = self
            session.add(entry)
