"""The CA as the signing service finds it: the CA certificates in use for each role, their chains,
and a keyring that opens each CA certificate's key once per process."""
from __future__ import annotations

import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuance import certificates
from issuance.interfaces import PolicyRefused
from issuance.settings import CaSettings
from issuance.signers import Signer, open_signer
from models import CaCertificate, CaRole


def active(session: Session, role: CaRole) -> CaCertificate | None:
    """The CA certificate in use for `role` (the newest, should a ceremony have left two)."""
    return session.scalars(select(CaCertificate).where(CaCertificate.role == role, CaCertificate.active)
                           .order_by(CaCertificate.id.desc()).limit(1)).first()


def issuing_ca(session: Session) -> CaCertificate:
    issuing = active(session, CaRole.ISSUING)
    if issuing is None:
        raise PolicyRefused("no_issuing_ca", "there is no issuing CA: hold the key ceremony (flask --app wsgi ca "
                                             "ceremony)")
    return issuing


def chain_pem(issuer: CaCertificate) -> list[str]:
    """`issuer`'s certificate, then its issuer's, up to the root."""
    chain = []
    ca: CaCertificate | None = issuer
    while ca is not None:
        chain.append(certificates.to_pem(ca.der))
        ca = ca.issuer
    return chain


class Keyring:
    """The signers of the CA certificates' keys, each opened on first use: reading a key file or
    finding a key on the token once rather than for every certificate. A key_ref names one key
    for good (the ceremony never reuses a name), so what is opened stays right."""

    def __init__(self, settings: CaSettings):
        self.settings = settings
        self._signers: dict[str, Signer] = {}
        self._lock = threading.Lock()

    def signer(self, ca: CaCertificate) -> Signer:
        with self._lock:
            if ca.key_ref not in self._signers:
                self._signers[ca.key_ref] = open_signer(ca.key_ref, self.settings)
            return self._signers[ca.key_ref]
