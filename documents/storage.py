"""The document store: what the applicants upload and the invoice PDFs, kept encrypted wherever
they lie (a folder, an S3-compatible bucket).

Every object is sealed in the application with AES-256-GCM before it leaves the process, so
neither a copied disk nor a bucket's operator reads an ID scan or a bank account. The store's
own encryption (a bucket's SSE) may be on as well, but is not relied on. A sealed object is

    MAGIC (4) | VERSION (1) | key id (8) | nonce (12) | ciphertext and tag

and its associated data is that header and the object's name: a blob copied or moved under
another name does not open, nor one sealed under another key (its key id says so first).

`DocumentStore` is what the rest of the code uses, found as `find_service(DocumentStore)`; the
backends (documents.storage_backends) only put, get and delete opaque bytes.
"""
from __future__ import annotations

import enum
import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from web.errors import N_, UserError

MAGIC = b"CAdS"
VERSION = 1
_KEY_ID_BYTES = 8
_NONCE_BYTES = 12
_HEADER_BYTES = len(MAGIC) + 1 + _KEY_ID_BYTES
_NAME = re.compile(r"(materials|invoices)/[0-9a-f]{32}")


class Purpose(enum.StrEnum):
    """What an object is; the first part of its name."""

    MATERIAL = "materials"
    INVOICE = "invoices"


class StorageUnavailable(UserError):
    """The store could not keep or give back an object (a full disk, an unreachable bucket).
    Nothing was kept: the caller says so and the user tries again. `detail` is for the log."""

    def __init__(self, detail: str):
        super().__init__(N_("The document could not be stored just now. Nothing was kept; please try again "
                            "in a moment."))
        self.detail = detail

    def __str__(self) -> str:  # for logs and audit notes; users see `message`
        return f"the document store is unavailable: {self.detail}"


class ObjectMissing(LookupError):
    """No object of that name in the store."""


class CannotOpen(ValueError):
    """A blob that is no sealed object of this store under this name: sealed with another key,
    moved from another name, or changed."""


def check_name(name: str) -> str:
    """`name` if it is an object's name (`materials/<32 hex>`, `invoices/<32 hex>`); a name from
    anywhere else never reaches a path or a bucket key."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"not a stored object's name: {name!r}")
    return name


def key_id(key: bytes) -> bytes:
    """Which key sealed a blob, without giving the key away: a wrong key is told apart from a
    changed blob, and a later key rotation knows which blobs to open with the old key."""
    return hashlib.sha256(b"document-store key id\0" + key).digest()[:_KEY_ID_BYTES]


def seal(key: bytes, name: str, content: bytes) -> bytes:
    header = MAGIC + bytes([VERSION]) + key_id(key)
    nonce = os.urandom(_NONCE_BYTES)
    return header + nonce + AESGCM(key).encrypt(nonce, content, header + check_name(name).encode())


def unseal(key: bytes, name: str, blob: bytes) -> bytes:
    header = blob[:_HEADER_BYTES]
    if header[:len(MAGIC)] != MAGIC:
        raise CannotOpen(f"{name} is not a sealed object (no header): stored before encryption? "
                         "Run `flask --app wsgi storage migrate`")
    if header[len(MAGIC)] != VERSION:
        raise CannotOpen(f"{name} is sealed in an unknown format version {header[len(MAGIC)]}")
    if header[len(MAGIC) + 1:] != key_id(key):
        raise CannotOpen(f"{name} was sealed with another STORAGE_ENCRYPTION_KEY")
    nonce = blob[_HEADER_BYTES:_HEADER_BYTES + _NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, blob[_HEADER_BYTES + _NONCE_BYTES:], header + check_name(name).encode())
    except InvalidTag:
        raise CannotOpen(f"{name} does not open: changed, or moved from another name") from None


class Backend(Protocol):
    """Opaque bytes under names; raises StorageUnavailable when it cannot, ObjectMissing for a
    name it does not hold."""

    def put(self, name: str, blob: bytes) -> None:
        """Keep `blob` (replacing one of the same name), durably before returning."""

    def get(self, name: str) -> bytes: ...

    def delete(self, name: str) -> None:
        """Remove the object; a missing one is no error."""

    def names(self, purpose: Purpose) -> Iterator[str]: ...


class DocumentStore:
    """The encrypted store, over the backend the setting STORAGE_BACKEND chose."""

    def __init__(self, backend: Backend, key: bytes):
        if len(key) != 32:
            raise ValueError("STORAGE_ENCRYPTION_KEY must be base64 of 32 bytes (AES-256)")
        self.backend = backend
        self._key = key

    def save(self, purpose: Purpose, content: bytes) -> str:
        """Seal `content` under a new random name, durably kept when this returns; its name."""
        name = f"{Purpose(purpose).value}/{secrets.token_hex(16)}"
        self.backend.put(name, seal(self._key, name, content))
        return name

    def put(self, name: str, content: bytes) -> None:
        """Seal `content` under a name of its own (the migration keeps the old files' names)."""
        self.backend.put(name, seal(self._key, check_name(name), content))

    def read(self, name: str) -> bytes:
        return unseal(self._key, name, self.backend.get(check_name(name)))

    def delete(self, name: str) -> None:
        """Remove an object for good (a rolled-back upload, the retention purge)."""
        self.backend.delete(check_name(name))

    def names(self, purpose: Purpose | None = None) -> Iterator[str]:
        """Every object's name (of one purpose), for backups and checks."""
        for each in (purpose,) if purpose else tuple(Purpose):
            yield from self.backend.names(Purpose(each))

    # Backups copy the sealed blobs as they are: the backup is no less encrypted than the store.
    def read_sealed(self, name: str) -> bytes:
        return self.backend.get(check_name(name))

    def check_sealed(self, name: str, blob: bytes) -> None:
        """Raises CannotOpen unless `blob` opens here under `name` (the same key, the same name)."""
        unseal(self._key, name, blob)

    def write_sealed(self, name: str, blob: bytes) -> None:
        """Keep a blob from a backup, refused unless it opens here."""
        self.check_sealed(name, blob)
        self.backend.put(check_name(name), blob)

