"""The CA's side: the signing service (its own process, issuance/signing_app.py), the signers (key
file, PKCS#11 token), the CA hierarchy and certificate profiles, the register, revocation, CRL
and OCSP; and the client through which the web app asks the signing service."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the signing service's client with the service registry."""
    from issuance import client

    client.register(app)
