"""The CA's settings, read once from the app's settings mapping (backoffice.config names them;
the web app and the signing service read the same table).

A plain dataclass rather than the mapping itself: the ceremony, the signers and the signing
service then take only what they use, and tests build one without an app.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SIGNERS = ("keyfile", "pkcs11")


@dataclass(frozen=True)
class CaSettings:
    signer: str  # where new CA keys go: "keyfile" (CA_KEY_FOLDER) or "pkcs11" (the token)
    key_folder: Path
    pkcs11_module: str
    token_label: str
    token_pin: str
    # Where relying parties fetch the CRL, ask OCSP and download the CA certificates; baked into
    # every certificate issued, so it must outlive them.
    public_url: str
    crl_next_update: dt.timedelta
    # The CA's own name in its certificates' subjects.
    organisation: str

    def __post_init__(self) -> None:
        if self.signer not in SIGNERS:
            raise ValueError(f"CA_SIGNER={self.signer} is none of {', '.join(SIGNERS)}")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CaSettings:
        return cls(signer=config["CA_SIGNER"], key_folder=Path(config["CA_KEY_FOLDER"]),
                   pkcs11_module=config["PKCS11_MODULE"], token_label=config["CA_TOKEN_LABEL"],
                   token_pin=config["CA_TOKEN_PIN"], public_url=config["CA_PUBLIC_URL"].rstrip("/"),
                   crl_next_update=dt.timedelta(hours=config["CRL_NEXT_UPDATE_HOURS"]),
                   organisation=config["CA_NAME_EN"])

    # The public addresses, named by the CA certificate's serial (hex): a certificate names
    # the CRL and the issuer certificate of the CA that signed it, and those addresses must keep
    # working after a later ceremony made another issuing CA.
    def crl_url(self, ca_serial: str) -> str:
        return f"{self.public_url}/crl/{ca_serial}.crl"

    def certificate_url(self, ca_serial: str) -> str:
        return f"{self.public_url}/ca/{ca_serial}.crt"

    @property
    def ocsp_url(self) -> str:
        return f"{self.public_url}/ocsp"
