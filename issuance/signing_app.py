"""The signing service's HTTP app: its own process (signing_wsgi.py), the only one holding the CA's
keys. The web app never does; it asks here over an authenticated JSON API (issuance.client), and
relying parties fetch the CRL, the CA certificates and OCSP answers from the public routes.

This is the one module of issuance that uses a web framework, and it uses nothing of the web
app (no backoffice, no web base, no Flask-SQLAlchemy; the layer contracts say so): its factory
takes the settings mapping (backoffice.config.load(), the same BACKOFFICE_<NAME> table), opens
its own database connection (issuance.store) and signs with the keys the CA certificates name.

API (JSON, each call signed as issuance.wire says; 401 when it is not):
    POST /api/v1/certificates   {job_id, order_number, csr_pem} -> the certificate and its chain
    POST /api/v1/revocations    {serial_number, reason, requested_by, confirmed_by} -> revoked, CRL number
    POST /api/v1/order-revocations {order_number} -> the certificate the approved order names revoked, CRL number
    POST /api/v1/order-supersessions {order_number} -> the certificate a renewal or information change names
                                superseded (its serial, when)
    POST /api/v1/withdrawals    {serial_number, job_id, requested_by} -> revoked (superseded), CRL number
    POST /api/v1/crls           {} -> the CRL just published
A policy refusal answers 422 {"error": "refused", "rule", "message"}; a CA key that cannot be used
503. Public (no authentication, as relying parties ask):
    GET  /crl/<CA serial>.crl   the issuing CA's newest CRL (DER)
    GET  /ca/<CA serial>.crt    a CA certificate (DER)
    POST /ocsp                  an OCSP request (application/ocsp-request)
    GET  /ocsp/<base64 request> the same, as RFC 6960 Appendix A.1 allows
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, abort, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from issuance import crls, ocsp, operations, store, wire
from issuance.authority import Keyring
from issuance.interfaces import PolicyRefused, Published, Revoked
from issuance.settings import CaSettings
from issuance.signers import SignerError
from models import CaCertificate, CaRole

log = logging.getLogger(__name__)
MAX_OCSP_REQUEST = 16 * 1024  # a request names a few certificates; anything larger is not one


def create_signing_app(settings: Mapping[str, Any], sessions: sessionmaker[Session] | None = None) -> Flask:
    """The signing service on the settings' database, or on `sessions` when given (a test that
    closes its engine afterwards)."""
    if not settings["SIGNING_SERVICE_KEY"]:
        raise RuntimeError("the signing service needs SIGNING_SERVICE_KEY (BACKOFFICE_SIGNING_SERVICE_KEY)")
    ca = CaSettings.from_config(settings)
    if settings["APP_ENV"] == "production" and ca.signer == "keyfile":
        log.warning("CA_SIGNER=keyfile: the CA key is not on a token")
    app = Flask(__name__, static_folder=None)  # serves no files: the CA material comes from the database
    app.config.update(TESTING=settings.get("TESTING", False), MAX_CONTENT_LENGTH=1024 * 1024)
    service = _Service(sessions or store.make_sessions(settings), Keyring(ca),
                       settings["SIGNING_SERVICE_KEY"].encode())
    app.before_request(service.authenticate)
    app.register_error_handler(PolicyRefused, _refused)
    app.register_error_handler(SignerError, _key_unusable)

    app.add_url_rule("/api/v1/certificates", view_func=service.issue, methods=["POST"])
    app.add_url_rule("/api/v1/revocations", view_func=service.revoke, methods=["POST"])
    app.add_url_rule("/api/v1/order-revocations", view_func=service.revoke_for_order, methods=["POST"])
    app.add_url_rule("/api/v1/order-supersessions", view_func=service.supersede_for_order, methods=["POST"])
    app.add_url_rule("/api/v1/withdrawals", view_func=service.withdraw, methods=["POST"])
    app.add_url_rule("/api/v1/crls", view_func=service.publish_crl, methods=["POST"])
    app.add_url_rule("/crl/<serial>.crl", view_func=service.crl)
    app.add_url_rule("/ca/<serial>.crt", view_func=service.ca_certificate)
    app.add_url_rule("/ocsp", view_func=service.ocsp_post, methods=["POST"])
    app.add_url_rule("/ocsp/<path:encoded>", view_func=service.ocsp_get)  # base64 has slashes
    return app


class _Service:
    def __init__(self, sessions: sessionmaker[Session], keyring: Keyring, key: bytes):
        self.sessions = sessions
        self.keyring = keyring
        self.key = key

    def authenticate(self) -> Response | None:
        if not request.path.startswith("/api/"):
            return None
        problem = wire.problem(self.key, request.headers, request.method, request.path, request.get_data())
        if problem:
            log.warning("refused a call to %s from %s: %s", request.path, request.remote_addr, problem)
            return _json({"error": "unauthenticated", "message": problem}, 401)
        return None

    # --- the API ---------------------------------------------------------------------

    def issue(self) -> Response:
        body = _body(job_id=64, order_number=20, csr_pem=16 * 1024)
        with store.unit_of_work(self.sessions, writes=True) as session:
            issued = operations.issue_certificate(session, self.keyring, job_id=body["job_id"],
                                                  order_number=body["order_number"], csr_pem=body["csr_pem"])
        return _json({"serial_number": issued.serial_number, "certificate_pem": issued.certificate_pem,
                      "chain_pem": issued.chain_pem, "not_before": issued.not_before.isoformat(),
                      "not_after": issued.not_after.isoformat()})

    def revoke(self) -> Response:
        body = _body(serial_number=64, requested_by=40, confirmed_by=40)
        reason = (request.get_json() or {}).get("reason")
        if not isinstance(reason, int) or isinstance(reason, bool):
            raise PolicyRefused("reason_not_allowed", "the reason is an RFC 5280 reason code (a whole number)")
        with store.unit_of_work(self.sessions, writes=True) as session:
            revoked = operations.revoke_certificate(session, self.keyring, body["serial_number"], reason,
                                                    requested_by=body["requested_by"],
                                                    confirmed_by=body["confirmed_by"])
        return _revoked(revoked)

    def revoke_for_order(self) -> Response:
        body = _body(order_number=20)
        with store.unit_of_work(self.sessions, writes=True) as session:
            revoked = operations.revoke_for_order(session, self.keyring, body["order_number"])
        return _revoked(revoked)

    def supersede_for_order(self) -> Response:
        body = _body(order_number=20)
        with store.unit_of_work(self.sessions, writes=True) as session:
            superseded = operations.supersede_for_order(session, body["order_number"])
        return _json({"serial_number": superseded.serial_number,
                      "superseded_at": superseded.superseded_at.isoformat()})

    def withdraw(self) -> Response:
        body = _body(serial_number=64, job_id=64, requested_by=80)
        with store.unit_of_work(self.sessions, writes=True) as session:
            revoked = operations.withdraw_certificate(session, self.keyring, body["serial_number"],
                                                      job_id=body["job_id"], requested_by=body["requested_by"])
        return _revoked(revoked)

    def publish_crl(self) -> Response:
        with store.unit_of_work(self.sessions, writes=True) as session:
            published = operations.publish_crl(session, self.keyring)
        return _json(_published(published))

    # --- public ----------------------------------------------------------------------

    def crl(self, serial: str) -> Response:
        with store.unit_of_work(self.sessions, writes=False) as session:
            issuing = _ca(session, serial, CaRole.ISSUING)
            newest = crls.newest(session, issuing.id)
            if newest is None:
                abort(404)
            return Response(newest.der, mimetype="application/pkix-crl",
                            headers={"Cache-Control": f"public, max-age={_seconds_until(newest.next_update)}"})

    def ca_certificate(self, serial: str) -> Response:
        with store.unit_of_work(self.sessions, writes=False) as session:
            ca = _ca(session, serial, CaRole.ROOT, CaRole.ISSUING)
            return Response(ca.der, mimetype="application/pkix-cert")

    def ocsp_post(self) -> Response:
        if request.mimetype != "application/ocsp-request" or (request.content_length or 0) > MAX_OCSP_REQUEST:
            return _ocsp_answer(lambda _session: ocsp.error("malformed_request"), self.sessions)
        der = request.get_data()
        return _ocsp_answer(lambda session: ocsp.respond(session, self.keyring, der), self.sessions)

    def ocsp_get(self, encoded: str) -> Response:
        try:
            der = base64.b64decode(urllib.parse.unquote(encoded), validate=True)
        except (binascii.Error, ValueError):
            der = b""
        if not der or len(der) > MAX_OCSP_REQUEST:
            return _ocsp_answer(lambda _session: ocsp.error("malformed_request"), self.sessions)
        return _ocsp_answer(lambda session: ocsp.respond(session, self.keyring, der), self.sessions)


def _ocsp_answer(make: Callable[[Session], bytes], sessions: sessionmaker[Session]) -> Response:
    try:
        with store.unit_of_work(sessions, writes=False) as session:
            der = make(session)
    except SignerError:
        log.exception("the OCSP responder's key cannot be used")
        der = ocsp.error("try_later")
    return Response(der, mimetype="application/ocsp-response")


def _ca(session: Session, serial: str, *roles: CaRole) -> CaCertificate:
    ca = session.scalars(select(CaCertificate).where(CaCertificate.serial_number == serial.lower(),
                                                     CaCertificate.role.in_(roles))).first()
    if ca is None:
        abort(404)
    return ca


def _body(**limits: int) -> dict[str, str]:
    """The JSON body's text fields, each present and at most as long as given."""
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser goes: no JSON object either
        body = None
    if not isinstance(body, dict):
        raise PolicyRefused("request_invalid", "the body is no JSON object")
    for name, longest in limits.items():
        value = body.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > longest:
            raise PolicyRefused("request_invalid", f"{name} is text of 1 to {longest} characters")
    return {name: body[name] for name in limits}


def _published(published: Published) -> dict:
    return {"crl_number": published.crl_number, "this_update": published.this_update.isoformat(),
            "next_update": published.next_update.isoformat(), "revoked_count": published.revoked_count}


def _seconds_until(moment: dt.datetime) -> int:
    return max(0, int((moment - dt.datetime.now(dt.UTC)).total_seconds()))


def _revoked(revoked: Revoked) -> Response:
    return _json({"serial_number": revoked.serial_number, "revoked_at": revoked.revoked_at.isoformat(),
                  "reason": int(revoked.reason), "crl_number": revoked.crl_number})


def _json(payload: dict, status: int = 200) -> Response:
    response = jsonify(payload)
    response.status_code = status
    return response


def _refused(exc: PolicyRefused) -> Response:
    log.info("refused: %s", exc)
    return _json({"error": "refused", "rule": exc.rule, "message": exc.message}, 422)


def _key_unusable(exc: SignerError) -> Response:
    log.error("a CA key cannot be used: %s", exc)
    return _json({"error": "key_unusable", "message": str(exc)}, 503)
