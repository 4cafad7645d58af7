"""X.509 certificates built with asn1crypto and signed by a Signer: the root (self-signed), the
issuing CA, the OCSP responder and end-entity certificates all go through `sign_certificate`,
whichever signer holds the key (issuance.signers says why).

What goes in them follows RFC 5280: times without fractions, UTCTime until 2049; a subject key
identifier from the SHA-1 of the public key (method 1) and the issuer's as authority key
identifier; basic constraints and key usage critical; for the responder id-kp-OCSPSigning and
id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1), so clients do not ask about the responder itself.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from asn1crypto import core, keys, pem, x509
from cryptography import x509 as cx509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from issuance.signers import Signer

# The attribute names RFC 4514 text gives beyond cryptography's own (which prints the OID).
RFC4514_NAMES = {NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier", NameOID.SERIAL_NUMBER: "serialNumber"}


def time(value: dt.datetime) -> x509.Time:
    """RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050."""
    value = whole_seconds(value)
    return x509.Time({"utc_time" if value.year < 2050 else "general_time": value})


def whole_seconds(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(microsecond=0)


def extension(extn_id: str, value, *, critical: bool = False) -> dict:
    return {"extn_id": extn_id, "critical": critical, "extn_value": value}


def key_identifier(public_key: keys.PublicKeyInfo) -> bytes:
    return public_key.sha1


def sign_certificate(signer: Signer, *, issuer: x509.Name, subject: x509.Name, public_key: keys.PublicKeyInfo,
                     serial: int, not_before: dt.datetime, not_after: dt.datetime,
                     extensions: Iterable[dict]) -> x509.Certificate:
    """The certificate of `public_key`, its to-be-signed part signed by `signer` (the issuer's key)."""
    tbs = x509.TbsCertificate({
        "version": "v3",
        "serial_number": serial,
        "signature": signer.signature_algorithm,
        "issuer": issuer,
        "validity": {"not_before": time(not_before), "not_after": time(not_after)},
        "subject": subject,
        "subject_public_key_info": public_key,
        "extensions": list(extensions),
    })
    return x509.Certificate({"tbs_certificate": tbs, "signature_algorithm": signer.signature_algorithm,
                             "signature_value": signer.sign(tbs.dump())})


def identifiers(public_key: keys.PublicKeyInfo, issuer_key: keys.PublicKeyInfo) -> list[dict]:
    """Subject and authority key identifiers: how path building finds the issuer of a certificate
    when a CA was made again with the same name."""
    return [extension("key_identifier", key_identifier(public_key)),
            extension("authority_key_identifier", {"key_identifier": key_identifier(issuer_key)})]


def ca_extensions(public_key: keys.PublicKeyInfo, issuer_key: keys.PublicKeyInfo,
                  path_length: int | None) -> list[dict]:
    """A CA: signs certificates and CRLs; `path_length` CAs may follow it (None: any)."""
    constraints = {"ca": True} if path_length is None else {"ca": True, "path_len_constraint": path_length}
    return [extension("basic_constraints", constraints, critical=True),
            extension("key_usage", {"key_cert_sign", "crl_sign"}, critical=True),
            *identifiers(public_key, issuer_key)]


def responder_extensions(public_key: keys.PublicKeyInfo, issuer_key: keys.PublicKeyInfo) -> list[dict]:
    """The issuing CA's delegated OCSP responder."""
    return [extension("basic_constraints", {"ca": False}, critical=True),
            extension("key_usage", {"digital_signature"}, critical=True),
            extension("extended_key_usage", ["ocsp_signing"]),
            extension("ocsp_no_check", core.Null()),
            *identifiers(public_key, issuer_key)]


def uri(url: str) -> x509.GeneralName:
    return x509.GeneralName(name="uniform_resource_identifier", value=url)


def issuer_access(issuer_url: str, ocsp_url: str | None = None) -> dict:
    """Authority information access: the issuer's certificate, and OCSP when it answers for us."""
    access = [{"access_method": "ca_issuers", "access_location": uri(issuer_url)}]
    if ocsp_url:
        access.insert(0, {"access_method": "ocsp", "access_location": uri(ocsp_url)})
    return extension("authority_information_access", access)


def distribution_extensions(crl_url: str, ocsp_url: str, issuer_url: str) -> list[dict]:
    """Where a relying party checks a certificate: the CRL, OCSP, and the issuer's certificate."""
    return [extension("crl_distribution_points", [{"distribution_point": {"full_name": [uri(crl_url)]}}]),
            issuer_access(issuer_url, ocsp_url)]


def serial_hex(serial: int) -> str:
    """How the register writes a serial: lower-case hex, 32 digits for our 16-byte serials."""
    return f"{serial:032x}"


def to_pem(certificate: x509.Certificate | bytes) -> str:
    der = certificate if isinstance(certificate, bytes) else certificate.dump()
    return pem.armor("CERTIFICATE", der).decode()


def subject_text(certificate: x509.Certificate) -> str:
    """The certificate's subject as RFC 4514 text (as `cryptography` prints it, most significant
    attribute last), for the register's subject column."""
    subject = cx509.load_der_x509_certificate(certificate.dump()).subject
    return subject.rfc4514_string(RFC4514_NAMES)


def signs(public_key, signature: bytes, data: bytes) -> bool:
    """Whether `signature` is the key's signature of `data` as a token makes it (RSA PKCS#1 v1.5 or ECDSA,
    SHA-256): a key proving it holds the certificate's private key, at the station or at the applicant's PC."""
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True
