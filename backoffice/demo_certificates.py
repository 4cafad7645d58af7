"""The certificates of the demo orders whose key was programmed: register rows of the issuing CA in use,
signed with its key as the signing service would sign them (make run's embedded CA keeps its key files
on this machine), from the moment the station's job had it issued for the product's months, written to
the job's key, whose serial (介质号) the row names (backoffice.demo_station). One stand-in public key
serves them all: the private keys of demo keys exist nowhere. Without an issuing CA (hold the ceremony
first) or its key, there are none, and the load says so."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from asn1crypto import keys, x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.demo_plans import Plan
from issuance import authority, certificates, profiles
from issuance.authority import Keyring
from issuance.interfaces import PolicyRefused
from issuance.policy import add_months
from issuance.signers import SignerError
from models import CaRole, CertificateProfile, CertificateStatus, CertKind, Product

KEY_TYPE = "ec_p256"


class Certificates:
    """Certificate rows for the plans whose key was programmed. Serials are random, as the signing
    service draws them."""

    def __init__(self, session: Session, keyring: Keyring | None):
        self.skipped = 0
        self.issuing = authority.active(session, CaRole.ISSUING)
        self.missing = None if self.issuing else "no issuing CA: hold the key ceremony first"
        if self.issuing and keyring is None:
            self.missing = "no CA keyring given"
        if self.missing:
            return
        self.settings = keyring.settings
        try:
            self.signer = keyring.signer(self.issuing)
        except SignerError as exc:
            self.missing = f"the issuing CA's key does not open: {exc}"
            return
        self.issuer = x509.Certificate.load(self.issuing.der)
        spki = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.public_key = keys.PublicKeyInfo.load(spki)
        self.request_sha256 = hashlib.sha256(spki).hexdigest()
        self.products = {product.id: product for product in session.scalars(select(Product))}
        self.profiles = {profile.id: profile for profile in session.scalars(select(CertificateProfile))}

    def row(self, plan: Plan, order: dict, holder: dict, certificate_id: int, *, job_id: str, media_serial: str,
            issued_at: dt.datetime) -> dict | None:
        """The register row of a plan that reached PROGRAMMED, or None (counted) when none can be made;
        `holder` is the organisation row of a unit order, the holder's person row of a personal one. The
        certificate is issued at `issued_at` to the attempt `job_id` of the station's job, on the key
        `media_serial` (backoffice.demo_station)."""
        product = self.products.get(plan.product_id) if not self.missing else None
        profile = self.profiles.get(product.profile_id) if product else None
        if profile is None:
            self.skipped += 1
            return None
        try:
            subject = profiles.personal_subject_attributes(_Row(holder)) if plan.cert_kind is CertKind.PERSONAL \
                else profiles.unit_subject_attributes(_Row(holder))
        except PolicyRefused:
            self.skipped += 1
            return None
        serial = int.from_bytes(secrets.token_bytes(16), "big") or 1
        not_before = certificates.whole_seconds(issued_at)
        not_after = add_months(not_before, product.validity_months)
        ca_serial = self.issuing.serial_number
        signed = certificates.sign_certificate(
            self.signer, issuer=self.issuer.subject, subject=profiles.name_of(subject), public_key=self.public_key,
            serial=serial, not_before=not_before, not_after=not_after,
            extensions=profiles.extensions(profile, self.public_key, self.issuer.public_key,
                                           crl_url=self.settings.crl_url(ca_serial), ocsp_url=self.settings.ocsp_url,
                                           issuer_url=self.settings.certificate_url(ca_serial)))
        return {"id": certificate_id, "order_id": order["id"], "issuer_id": self.issuing.id, "profile_id": profile.id,
                "job_id": job_id, "serial_number": certificates.serial_hex(serial),
                "subject": profiles.subject_text(subject), "key_type": KEY_TYPE, "csr_sha256": self.request_sha256,
                "not_before": not_before, "not_after": not_after, "der": signed.dump(),
                "status": CertificateStatus.VALID, "media_serial": media_serial,
                "password_card_number": order["password_card_number"], "created_at": issued_at,
                "revocation_requested_by": None, "revocation_requested_at": None, "revocation_reason": None,
                "revocation_note": None, "revoked_by": None, "revoked_at": None}


class _Row:
    """An organisation's or a person's row (a dict) read the way issuance.profiles reads the model."""

    __slots__ = ("row",)

    def __init__(self, row: dict):
        self.row = row

    def __getattr__(self, name: str):
        return self.row[name]
