"""PKCS#10 certification requests, read and checked with `cryptography`: the request must be
signed by the key it carries (proof the station holds it), and the key type the policy checks is
taken from that key, never from what the caller says."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from asn1crypto import keys
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from issuance.interfaces import PolicyRefused

_CURVES = {"secp256r1": "ec_p256", "secp384r1": "ec_p384", "secp521r1": "ec_p521"}


@dataclass(frozen=True)
class CertificationRequest:
    public_key: keys.PublicKeyInfo
    key_type: str  # as profiles name them: "rsa2048", "ec_p256", …
    subject: list[tuple[str, str]]  # (OID, value) as the request lists them
    sha256: str  # of the request's DER: the same job must come with the same request


def key_type(public_key) -> str:
    if isinstance(public_key, rsa.RSAPublicKey):
        return f"rsa{public_key.key_size}"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return _CURVES.get(public_key.curve.name, f"ec_{public_key.curve.name}")
    if isinstance(public_key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return type(public_key).__name__.removesuffix("PublicKey").lower()
    return type(public_key).__name__


def read(csr_pem: str) -> CertificationRequest:
    try:
        request = x509.load_pem_x509_csr(csr_pem.encode())
        subject = [(attribute.oid.dotted_string, attribute.value) for attribute in request.subject]
        public_key = request.public_key()
        signed = request.is_signature_valid
    except (ValueError, UnicodeError, TypeError, UnsupportedAlgorithm) as exc:
        raise PolicyRefused("csr_invalid", f"not a PKCS#10 request in PEM that we can read: {exc}") from None
    if not signed:
        raise PolicyRefused("csr_signature_invalid", "the request is not signed by the key it carries")
    der = request.public_bytes(serialization.Encoding.DER)
    info = keys.PublicKeyInfo.load(public_key.public_bytes(serialization.Encoding.DER,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo))
    return CertificationRequest(public_key=info, key_type=key_type(public_key),
                                subject=[(oid, str(value)) for oid, value in subject],
                                sha256=hashlib.sha256(der).hexdigest())
