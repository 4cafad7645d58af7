"""OCSP (RFC 6960) answered by the issuing CA's delegated responder: its certificate, signed by the
issuing CA with id-kp-OCSPSigning, goes with every response, so clients that trust the issuing
CA trust the answer (4.2.2.2).

Each certificate asked about is good (issued by us and not revoked; an expired one too, since
OCSP speaks of revocation only, and one a renewal or an information change superseded, which
stays usable until its end), revoked (time and reason, as on the CRL) or unknown (a serial
the issuing CA never issued). A request about another issuer is answered "unauthorized", one we
cannot read "malformedRequest". The request's nonce is echoed (RFC 8954), which proves the
answer is fresh; without one the answer may be cached until its nextUpdate.
"""
from __future__ import annotations

import datetime as dt

from asn1crypto import core, crl, ocsp, x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from issuance import authority, certificates
from issuance.authority import Keyring
from models import CaCertificate, CaRole, Certificate, CertificateStatus, RevocationReason
from models.base import utcnow

# How long a client may reuse an answer asked for without a nonce: a revocation reaches every
# client within this time (the CRL's next update is further away).
RESPONSE_VALIDITY = dt.timedelta(hours=1)
_HASHES = ("sha1", "sha256", "sha384", "sha512")


def error(status: str) -> bytes:
    return ocsp.OCSPResponse({"response_status": status}).dump()


def respond(session: Session, keyring: Keyring, request_der: bytes, now: dt.datetime | None = None) -> bytes:
    """The DER of the OCSP response to the DER of a request."""
    try:
        request = ocsp.OCSPRequest.load(request_der)
        tbs = request["tbs_request"]
        cert_ids = [item["req_cert"] for item in tbs["request_list"]]
        nonce = request.nonce_value
        asked = [(_hash_name(cert_id), cert_id["issuer_name_hash"].native, cert_id["issuer_key_hash"].native,
                  cert_id["serial_number"].native) for cert_id in cert_ids]
    except (ValueError, TypeError, KeyError):
        return error("malformed_request")
    if not asked:
        return error("malformed_request")
    responder = authority.active(session, CaRole.OCSP)
    if responder is None or responder.issuer is None:
        return error("unauthorized")
    issuing = responder.issuer
    issuer_cert = x509.Certificate.load(issuing.der)
    if any(hash_name is None or name_hash != getattr(issuer_cert.subject, hash_name)
           or key_hash != getattr(issuer_cert.public_key, hash_name) for hash_name, name_hash, key_hash, _ in asked):
        return error("unauthorized")

    now = certificates.whole_seconds(now or utcnow())
    responses = [{"cert_id": cert_id, "cert_status": _status(session, issuing, serial), "this_update": now,
                  "next_update": now + RESPONSE_VALIDITY}
                 for cert_id, (_, _, _, serial) in zip(cert_ids, asked, strict=True)]
    responder_cert = x509.Certificate.load(responder.der)
    data = {"responder_id": ocsp.ResponderId(name="by_key", value=certificates.key_identifier(
                responder_cert.public_key)),
            "produced_at": now, "responses": responses}
    if nonce is not None:
        data["response_extensions"] = [certificates.extension("nonce", nonce.native)]
    response_data = ocsp.ResponseData(data)
    signer = keyring.signer(responder)
    basic = ocsp.BasicOCSPResponse({"tbs_response_data": response_data,
                                    "signature_algorithm": signer.signature_algorithm,
                                    "signature": signer.sign(response_data.dump()), "certs": [responder_cert]})
    return ocsp.OCSPResponse({"response_status": "successful",
                              "response_bytes": {"response_type": "basic_ocsp_response", "response": basic}}).dump()


def _hash_name(cert_id: ocsp.CertId) -> str | None:
    name = cert_id["hash_algorithm"]["algorithm"].native
    return name if name in _HASHES else None


def _status(session: Session, issuing: CaCertificate, serial: int) -> ocsp.CertStatus:
    found = session.execute(select(Certificate.status, Certificate.revoked_at, Certificate.revocation_reason).where(
        Certificate.issuer_id == issuing.id, Certificate.serial_number == certificates.serial_hex(serial))).first()
    if found is None:
        return ocsp.CertStatus(name="unknown", value=core.Null())
    status, revoked_at, reason = found
    if status is not CertificateStatus.REVOKED:
        return ocsp.CertStatus(name="good", value=core.Null())
    info = {"revocation_time": certificates.whole_seconds(revoked_at)}
    if reason is not None and reason != RevocationReason.UNSPECIFIED:  # as the CRL leaves it out
        info["revocation_reason"] = crl.CRLReason(int(reason))
    return ocsp.CertStatus(name="revoked", value=info)
