"""The CA's side of certificates: its own certificates (root, issuing CA, OCSP responder), the
profiles end-entity certificates are made by, every certificate issued (the register), and the
CRLs published. Private keys are never here: a CA certificate names where its key is."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, created, enum_type, intpk, str20, str40, str64, str120, str255


class CaRole(enum.StrEnum):
    ROOT = "root"  # self-signed, made offline by the key ceremony
    ISSUING = "issuing"  # signs end-entity certificates and the CRL
    OCSP = "ocsp"  # the issuing CA's delegated OCSP responder


class CaCertificate(Base):
    __tablename__ = "ca_certificate"

    id: Mapped[intpk]
    role: Mapped[CaRole] = mapped_column(enum_type(CaRole, 12))
    subject: Mapped[str255]  # RFC 4514
    serial_number: Mapped[str] = mapped_column(String(40), unique=True)  # hex
    not_before: Mapped[dt.datetime]
    not_after: Mapped[dt.datetime]
    der: Mapped[bytes] = mapped_column(LargeBinary)
    # Where the private key is, for the signing service: "file:<name>" in the CA key folder, or
    # "pkcs11:<token label>/<key label>". Never the key itself.
    key_ref: Mapped[str255]
    issuer_id: Mapped[int | None] = mapped_column(ForeignKey("ca_certificate.id"))
    # The one in use for its role; an older one stays to verify what it signed.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created]
    created_by: Mapped[str255]  # the ceremony's officers

    issuer: Mapped[CaCertificate | None] = relationship(remote_side="CaCertificate.id")


class CertificateProfile(Base):
    """What an end-entity certificate of a product carries besides its subject and key."""

    __tablename__ = "certificate_profile"

    id: Mapped[intpk]
    code: Mapped[str40] = mapped_column(unique=True)
    name: Mapped[str120]
    # Comma-separated: the key types a request may carry ("rsa2048", "ec_p256").
    key_types: Mapped[str120]
    # Comma-separated names of key usages (digital_signature, non_repudiation, key_encipherment).
    key_usage: Mapped[str120]
    # Comma-separated extended key usages: names (client_auth, email_protection) or dotted OIDs.
    extended_key_usage: Mapped[str255]
    policy_oid: Mapped[str120]
    active: Mapped[bool] = mapped_column(default=True)

    def __str__(self) -> str:
        return self.name


class CertificateStatus(enum.StrEnum):
    VALID = "valid"  # shown as expired once past not_after
    SUPERSEDED = "superseded"  # replaced by a renewal or a replacement
    REVOKED = "revoked"


class RevocationReason(enum.IntEnum):
    """RFC 5280 CRLReason codes a registration desk uses (certificateHold and the attribute
    authority's reasons are not)."""

    UNSPECIFIED = 0
    KEY_COMPROMISE = 1
    CA_COMPROMISE = 2
    AFFILIATION_CHANGED = 3
    SUPERSEDED = 4
    CESSATION_OF_OPERATION = 5
    PRIVILEGE_WITHDRAWN = 9


class Certificate(Base):
    """A certificate the issuing CA signed for an order (and the key it was written to)."""

    __tablename__ = "certificate"
    # An order never has more than one unrevoked certificate, even when two jobs ask at once. Valid
    # certificates by expiry: the renewals report and the reminders.
    __table_args__ = (Index("uq_certificate_order_unrevoked", "order_id", unique=True,
                            sqlite_where=text("status != 'revoked'"), postgresql_where=text("status != 'revoked'")),
                      Index("ix_certificate_status_not_after", "status", "not_after"))

    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("ca_certificate.id"))
    profile_id: Mapped[int] = mapped_column(ForeignKey("certificate_profile.id"))
    # The station's job that asked for it: the same job asking again gets this certificate back.
    job_id: Mapped[str64] = mapped_column(unique=True)
    serial_number: Mapped[str] = mapped_column(String(40), unique=True)  # 16 random bytes, hex
    subject: Mapped[str255]  # RFC 4514
    key_type: Mapped[str20]
    csr_sha256: Mapped[str64]
    not_before: Mapped[dt.datetime]
    not_after: Mapped[dt.datetime]
    der: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[CertificateStatus] = mapped_column(enum_type(CertificateStatus, 12),
                                                      default=CertificateStatus.VALID)
    media_serial: Mapped[str40 | None] = mapped_column(index=True)  # 介质号: the token's serial
    password_card_number: Mapped[str40 | None]  # 密码卡号
    created_at: Mapped[created]
    # Revocation: asked for by one staff member, done once a second one confirms (dual control); a
    # certificate that never left the station is withdrawn by the station alone (issuance.operations).
    revocation_requested_by: Mapped[str120 | None]
    revocation_requested_at: Mapped[dt.datetime | None]
    revocation_reason: Mapped[int | None]  # RevocationReason
    revocation_note: Mapped[str | None] = mapped_column(Text)
    revoked_by: Mapped[str120 | None]
    revoked_at: Mapped[dt.datetime | None]
    # A renewal's or information change's new certificate is on the key (issuance.operations.supersede_for_order).
    superseded_at: Mapped[dt.datetime | None]

    issuer: Mapped[CaCertificate] = relationship()
    profile: Mapped[CertificateProfile] = relationship()

    def shown_status(self, now: dt.datetime) -> str:
        """What the register shows: a valid certificate past its end is expired."""
        if self.status is CertificateStatus.VALID and self.not_after <= now:
            return "expired"
        return self.status.value


class Crl(Base):
    """A CRL the issuing CA signed; the newest is served at the distribution point."""

    __tablename__ = "crl"
    __table_args__ = (UniqueConstraint("issuer_id", "number"),)

    id: Mapped[intpk]
    issuer_id: Mapped[int] = mapped_column(ForeignKey("ca_certificate.id"), index=True)
    number: Mapped[int]  # the CRL number extension, increasing per issuer
    this_update: Mapped[dt.datetime]
    next_update: Mapped[dt.datetime]
    der: Mapped[bytes] = mapped_column(LargeBinary)
    revoked_count: Mapped[int]
    created_at: Mapped[created]
