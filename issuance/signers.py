"""Signers: a CA key that signs DER (a certificate's, a CRL's or an OCSP response's to-be-signed
part) and says which public key and signature algorithm go with it.

Two places hold CA keys:

- a key file read by `cryptography` (the embedded default; production warns that the key is not
  on a token), PKCS#8 PEM, 0600, in CA_KEY_FOLDER;
- a PKCS#11 token found by its label (SoftHSM2 in development and tests, an HSM or a UKEY in
  production), the private key generated there, sensitive and not extractable.

`cryptography` cannot sign with a key on a token, so the bodies are built with asn1crypto
(issuance.certificates) and only their DER goes to `sign`: one code path for both signers.
Keys are EC P-256 or RSA, always with SHA-256.

A CA certificate names its key with `key_ref`: "file:<name>" in the key folder, or
"pkcs11:<token label>/<key label>" (models.certificate.CaCertificate).
"""
from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Protocol

from asn1crypto import algos, core, keys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from issuance.settings import CaSettings

# What a CA key may be: P-256 (fast on a token, small certificates) or RSA of these sizes.
KEY_TYPES = ("ec_p256", "rsa2048", "rsa3072", "rsa4096")


class SignerError(Exception):
    """The key cannot be used: missing, unreadable, of a kind we do not sign with, a wrong PIN."""


class Signer(Protocol):
    @property
    def public_key(self) -> keys.PublicKeyInfo:
        """The public key, as a certificate carries it."""

    @property
    def signature_algorithm(self) -> algos.SignedDigestAlgorithm:
        """The algorithm `sign` uses, as the signed structure names it."""

    def sign(self, data: bytes) -> bytes:
        """The signature over `data` (DER of the part to be signed): PKCS#1 v1.5 for RSA,
        DER-encoded ECDSA-Sig-Value for EC."""


def signature_algorithm(public_key: keys.PublicKeyInfo) -> algos.SignedDigestAlgorithm:
    if public_key.algorithm == "rsa":
        # RFC 4055: sha256WithRSAEncryption carries NULL parameters; ECDSA's carry none (RFC 5758).
        return algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa", "parameters": core.Null()})
    if public_key.algorithm == "ec" and public_key.curve == ("named", "secp256r1"):
        return algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
    raise SignerError(f"no CA signs with a {public_key.algorithm} key of this kind")


def _check_key_type(key_type: str) -> None:
    if key_type not in KEY_TYPES:
        raise SignerError(f"a CA key is one of {', '.join(KEY_TYPES)}, not {key_type}")


# --- key files -------------------------------------------------------------------------


class KeyFileSigner:
    def __init__(self, private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        self._key = private_key
        self.public_key = keys.PublicKeyInfo.load(private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
        self.signature_algorithm = signature_algorithm(self.public_key)

    @classmethod
    def load(cls, path: Path) -> KeyFileSigner:
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise SignerError(f"cannot read the CA key {path}: {exc}") from exc
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise SignerError(f"{path} holds no RSA or EC key")
        return cls(key)

    @classmethod
    def generate(cls, path: Path, key_type: str) -> KeyFileSigner:
        """A new key written to `path`, which must not exist; readable by its owner only."""
        _check_key_type(key_type)
        if key_type == "ec_p256":
            key = ec.generate_private_key(ec.SECP256R1())
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=int(key_type.removeprefix("rsa")))
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # O_EXCL: a ceremony never overwrites a key that may have signed something.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        return cls(key)

    def sign(self, data: bytes) -> bytes:
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return self._key.sign(data, ec.ECDSA(hashes.SHA256()))


# --- PKCS#11 tokens ----------------------------------------------------------------------

# A token's login belongs to the whole process: a second session logging in while another is
# open fails (CKR_USER_ALREADY_LOGGED_IN), so one thread at a time opens, logs in, signs, closes.
_token_lock = threading.Lock()


def _library(module: str):
    import pkcs11  # only where a token is used: the key-file default needs no PKCS#11 library

    # python-pkcs11 keeps one library per module path and process, initialised when first loaded
    # (SoftHSM2 reads SOFTHSM2_CONF then).
    return pkcs11.lib(module)


class _TokenSession:
    """A session on the token logged in as the user, closed (and logged out) on leaving.

    python-pkcs11 leaves the session it opened behind when the login fails; re-initialising the
    library closes it, so a wrong PIN leaves nothing open to trip a later SO login.
    """

    def __init__(self, module: str, token_label: str, pin: str, *, rw: bool = False):
        self.module, self.token_label, self.pin, self.rw = module, token_label, pin, rw

    def __enter__(self):
        import pkcs11

        _token_lock.acquire()
        try:
            library = _library(self.module)
            try:
                token = library.get_token(token_label=self.token_label)
            except pkcs11.NoSuchToken:
                # The module lists the tokens it found when the library was loaded: one plugged in
                # (or initialised) since shows once it is loaded again.
                library.reinitialize()
                token = library.get_token(token_label=self.token_label)
            try:
                self.session = token.open(rw=self.rw, user_pin=self.pin)
            except (pkcs11.PinIncorrect, pkcs11.PinInvalid, pkcs11.PinLenRange, pkcs11.PinLocked) as exc:
                library.reinitialize()
                raise SignerError(f"the PIN of token {self.token_label} was refused ({type(exc).__name__})") from exc
        except pkcs11.NoSuchToken as exc:
            _token_lock.release()
            raise SignerError(f"no token labelled {self.token_label} in {self.module}") from exc
        except BaseException:
            _token_lock.release()
            raise
        return self.session

    def __exit__(self, *_exc) -> None:
        try:
            self.session.close()
        finally:
            _token_lock.release()


def _public_key_info(public_key) -> keys.PublicKeyInfo:
    from pkcs11 import KeyType
    from pkcs11.util.ec import encode_ec_public_key
    from pkcs11.util.rsa import encode_rsa_public_key

    if public_key.key_type == KeyType.EC:
        return keys.PublicKeyInfo.load(encode_ec_public_key(public_key))
    return keys.PublicKeyInfo({"algorithm": {"algorithm": "rsa", "parameters": core.Null()},
                               "public_key": keys.RSAPublicKey.load(encode_rsa_public_key(public_key))})


class Pkcs11Signer:
    """A private key on a token, found by the token's label and the key's label."""

    def __init__(self, module: str, token_label: str, pin: str, key_label: str):
        import pkcs11

        self.module, self.token_label, self.pin, self.key_label = module, token_label, pin, key_label
        with _TokenSession(module, token_label, pin) as session:
            try:
                public = session.get_key(pkcs11.ObjectClass.PUBLIC_KEY, label=key_label)
            except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned) as exc:
                raise SignerError(f"token {token_label} has no single public key labelled {key_label}") from exc
            self.public_key = _public_key_info(public)
        self.signature_algorithm = signature_algorithm(self.public_key)

    @classmethod
    def generate(cls, module: str, token_label: str, pin: str, key_label: str, key_type: str) -> Pkcs11Signer:
        """A new key pair made on the token: the private key sensitive and never extractable."""
        import pkcs11
        from pkcs11 import Attribute, KeyType
        from pkcs11.util.ec import encode_named_curve_parameters

        _check_key_type(key_type)
        private = {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.PRIVATE: True}
        key_id = os.urandom(16)  # CKA_ID pairs the private key with its public key (and a certificate)
        with _TokenSession(module, token_label, pin, rw=True) as session:
            if any(True for _ in session.get_objects({Attribute.LABEL: key_label})):
                raise SignerError(f"token {token_label} already holds a key labelled {key_label}")
            if key_type == "ec_p256":
                parameters = session.create_domain_parameters(
                    KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True)
                parameters.generate_keypair(store=True, label=key_label, id=key_id, private_template=private)
            else:
                session.generate_keypair(KeyType.RSA, int(key_type.removeprefix("rsa")), store=True, label=key_label,
                                         id=key_id, private_template=private,
                                         mechanism=pkcs11.Mechanism.RSA_PKCS_KEY_PAIR_GEN)
        return cls(module, token_label, pin, key_label)

    def sign(self, data: bytes) -> bytes:
        import pkcs11
        from pkcs11.util.ec import encode_ecdsa_signature

        with _TokenSession(self.module, self.token_label, self.pin) as session:
            key = session.get_key(pkcs11.ObjectClass.PRIVATE_KEY, label=self.key_label)
            if self.public_key.algorithm == "rsa":
                return key.sign(data, mechanism=pkcs11.Mechanism.SHA256_RSA_PKCS)
            # SoftHSM 2.6 has no ECDSA_SHA256: hash here, sign the digest with plain ECDSA, and
            # turn the token's r||s into the DER an X.509 signature carries.
            raw = key.sign(hashlib.sha256(data).digest(), mechanism=pkcs11.Mechanism.ECDSA)
            return encode_ecdsa_signature(raw)


# --- where a CA certificate's key is ---------------------------------------------------------


def new_key(settings: CaSettings, name: str, key_type: str) -> tuple[str, Signer]:
    """Make a CA key named `name` where the settings keep new keys; its key_ref and signer."""
    if settings.signer == "pkcs11":
        signer = Pkcs11Signer.generate(settings.pkcs11_module, settings.token_label, settings.token_pin, name,
                                       key_type)
        return f"pkcs11:{settings.token_label}/{name}", signer
    return f"file:{name}.pem", KeyFileSigner.generate(settings.key_folder / f"{name}.pem", key_type)


def open_signer(key_ref: str, settings: CaSettings) -> Signer:
    """The signer of a CA certificate's `key_ref` (its module and PIN from the settings)."""
    kind, _, where = key_ref.partition(":")
    if kind == "file" and where and "/" not in where:
        return KeyFileSigner.load(settings.key_folder / where)
    if kind == "pkcs11" and "/" in where:
        token_label, key_label = where.split("/", 1)
        return Pkcs11Signer(settings.pkcs11_module, token_label, settings.token_pin, key_label)
    raise SignerError(f"cannot tell where the key {key_ref!r} is")
