"""Encryption at rest for ID and bank numbers, and keyed digests for lookups.

Values are sealed with AES-256-GCM; each column passes its own associated data so a
ciphertext copied into another column does not decrypt. A keyed hash (HMAC-SHA256)
stored beside each sealed value lets the order query find rows by ID number without
decrypting every row. The keys come from configuration via `configure()`.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import LargeBinary, TypeDecorator

_FORMAT_V1 = b"\x01"
_keys: dict[str, bytes] = {}


def configure(encryption_key: bytes, lookup_key: bytes) -> None:
    if len(encryption_key) != 32 or len(lookup_key) < 32:
        raise ValueError("field encryption needs a 32-byte key and a lookup key of 32+ bytes")
    _keys["enc"] = encryption_key
    _keys["mac"] = lookup_key


def _key(name: str) -> bytes:
    try:
        return _keys[name]
    except KeyError:
        raise RuntimeError("models.sealed.configure() was not called") from None


def seal(plaintext: str, purpose: str) -> bytes:
    return seal_bytes(plaintext.encode(), purpose)


def unseal(blob: bytes, purpose: str) -> str:
    return unseal_bytes(blob, purpose).decode()


def seal_bytes(plaintext: bytes, purpose: str) -> bytes:
    nonce = os.urandom(12)
    return _FORMAT_V1 + nonce + AESGCM(_key("enc")).encrypt(nonce, plaintext, purpose.encode())


def unseal_bytes(blob: bytes, purpose: str) -> bytes:
    if blob[:1] != _FORMAT_V1:
        raise ValueError("unknown sealed format")
    nonce, body = blob[1:13], blob[13:]
    return AESGCM(_key("enc")).decrypt(nonce, body, purpose.encode())


def lookup_digest(value: str) -> str:
    return hmac.new(_key("mac"), value.encode(), hashlib.sha256).hexdigest()


def subject_serial(id_type: str, id_number: str) -> str:
    """The identifier a personal certificate's subject carries for its holder's ID (serialNumber,
    2.5.4.5): 160 bits of an HMAC-SHA256 of the ID type and number under a key of its own (derived
    from the lookup key, so it never equals a lookup digest). The same person's ID gives the same
    identifier in every certificate; the number cannot be read back from it."""
    key = hmac.new(_key("mac"), b"personal certificate subject serial", hashlib.sha256).digest()
    return hmac.new(key, f"{id_type}:{id_number}".encode(), hashlib.sha256).hexdigest()[:40]


def mask(value: str | None, keep_start: int = 3, keep_end: int = 4) -> str:
    """What a page may show of an ID or account number."""
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


_LONG_DIGIT_RUN = re.compile(r"\d{8,}")


def mask_numbers_in(text: str | None) -> str:
    """Mask every account-like number (8+ digits) inside free text."""
    return _LONG_DIGIT_RUN.sub(lambda m: mask(m.group(), 4, 4), text or "")


class SealedBytes(TypeDecorator):
    """A binary column (a document that carries bank numbers) stored as AES-GCM ciphertext."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, purpose: str):
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value, dialect):
        return None if value is None else seal_bytes(bytes(value), self.purpose)

    def process_result_value(self, value, dialect):
        return None if value is None else unseal_bytes(bytes(value), self.purpose)


class SealedText(SealedBytes):
    """A string column stored as AES-GCM ciphertext."""

    def process_bind_param(self, value, dialect):
        return None if value is None else seal(value, self.purpose)

    def process_result_value(self, value, dialect):
        return None if value is None else unseal(bytes(value), self.purpose)
