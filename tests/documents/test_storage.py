"""The document store on both backends: what goes in comes out, what lies at rest is sealed and
bound to its name and key, and a store that cannot write says so having kept nothing."""
from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from documents import storage, storage_backends
from documents.storage import CannotOpen, DocumentStore, ObjectMissing, Purpose, StorageUnavailable
from documents.storage_backends import FilesystemBackend, S3Backend
from tests.s3 import REGION

SCAN = b"\xff\xd8\xff\xe0 an ID card scan: \xe5\xbc\xa0\xe4\xb8\x89 110101199003077777 " * 50


def test_what_is_saved_reads_back_and_lies_at_rest_sealed(kept):
    name = kept.store.save(Purpose.MATERIAL, SCAN)
    invoice = kept.store.save(Purpose.INVOICE, b"%PDF-1.7 bank account 6222021234567890123")
    assert name.startswith("materials/") and invoice.startswith("invoices/")
    assert kept.store.read(name) == SCAN
    assert kept.store.read(invoice) == b"%PDF-1.7 bank account 6222021234567890123"
    assert sorted(kept.store.names()) == sorted([name, invoice])
    assert list(kept.store.names(Purpose.INVOICE)) == [invoice]

    at_rest = kept.blobs()
    assert len(at_rest) == 2
    for blob in at_rest.values():
        assert blob.startswith(storage.MAGIC + bytes([storage.VERSION]))
        assert b"110101199003077777" not in blob and b"6222021234567890123" not in blob and b"%PDF" not in blob
    assert SCAN not in b"".join(at_rest.values())
    # The same content sealed again is another blob (a fresh nonce): equal documents are not told by their blobs.
    again = kept.store.save(Purpose.MATERIAL, SCAN)
    assert kept.store.read_sealed(again) != kept.store.read_sealed(name)


def test_a_blob_moved_under_another_name_does_not_open(kept):
    name = kept.store.save(Purpose.MATERIAL, SCAN)
    other = kept.store.save(Purpose.MATERIAL, b"another document")
    kept.store.backend.put(other, kept.store.read_sealed(name))  # someone with the bucket swaps two blobs
    with pytest.raises(CannotOpen, match="changed, or moved from another name"):
        kept.store.read(other)
    invoice_name = "invoices/" + name.removeprefix("materials/")
    kept.store.backend.put(invoice_name, kept.store.read_sealed(name))  # or files a scan as an invoice
    with pytest.raises(CannotOpen):
        kept.store.read(invoice_name)


def test_another_key_does_not_open_it(kept):
    name = kept.store.save(Purpose.MATERIAL, SCAN)
    elsewhere = DocumentStore(kept.store.backend, os.urandom(32))
    with pytest.raises(CannotOpen, match="sealed with another STORAGE_ENCRYPTION_KEY"):
        elsewhere.read(name)
    # Even with its key id forged, the other key's GCM tag does not hold.
    blob = kept.store.read_sealed(name)
    forged = blob[:5] + storage.key_id(elsewhere._key) + blob[13:]
    kept.store.backend.put(name, forged)
    with pytest.raises(CannotOpen):
        elsewhere.read(name)


def test_a_changed_blob_does_not_open(kept):
    name = kept.store.save(Purpose.MATERIAL, SCAN)
    blob = bytearray(kept.store.read_sealed(name))
    blob[-1] ^= 1
    kept.store.backend.put(name, bytes(blob))
    with pytest.raises(CannotOpen):
        kept.store.read(name)


def test_the_format_is_aes_256_gcm_with_the_header_and_name_as_associated_data(kept):
    """What an operator's own tool must do to open a blob with the key (documented in README)."""
    name = kept.store.save(Purpose.INVOICE, b"%PDF")
    blob = kept.store.read_sealed(name)
    header, nonce, body = blob[:13], blob[13:25], blob[25:]
    assert AESGCM(kept.store._key).decrypt(nonce, body, header + name.encode()) == b"%PDF"


def test_delete_removes_it_and_a_missing_object_is_told(kept):
    name = kept.store.save(Purpose.MATERIAL, SCAN)
    kept.store.delete(name)
    kept.store.delete(name)  # gone already: no error (a retried purge)
    with pytest.raises(ObjectMissing):
        kept.store.read(name)
    assert kept.blobs() == {} and list(kept.store.names()) == []


@pytest.mark.parametrize("name", ["../../etc/passwd", "materials/../../x", "materials/ABC", "other/" + "0" * 32,
                                  "materials/" + "0" * 31])
def test_only_the_stores_own_names_reach_a_path_or_a_key(kept, name):
    with pytest.raises(ValueError, match="not a stored object's name"):
        kept.store.read(name)


def test_a_backup_blob_is_written_back_only_where_it_opens(kept):
    name = kept.store.save(Purpose.MATERIAL, SCAN)
    blob = kept.store.read_sealed(name)
    kept.store.delete(name)
    kept.store.write_sealed(name, blob)
    assert kept.store.read(name) == SCAN
    with pytest.raises(CannotOpen):
        kept.store.write_sealed("materials/" + "1" * 32, blob)
    assert list(kept.store.names()) == [name]


def test_the_key_is_256_bits():
    with pytest.raises(ValueError, match="32 bytes"):
        DocumentStore(FilesystemBackend("/nonexistent"), b"short")


# --- a store that cannot write -------------------------------------------------------------------

def test_a_full_disk_keeps_nothing(tmp_path, monkeypatch):
    store = storage_backends.filesystem_store(tmp_path, os.urandom(32))

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage_backends.os, "fsync", full_disk)
    with pytest.raises(StorageUnavailable) as raised:
        store.save(Purpose.MATERIAL, SCAN)
    assert "No space left on device" in str(raised.value)
    assert raised.value.message.startswith("The document could not be stored just now. Nothing was kept")
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []


def test_a_bucket_that_refuses_the_write_keeps_nothing(s3_endpoint):
    store = DocumentStore(S3Backend("no-such-bucket", endpoint_url=s3_endpoint, region=REGION), os.urandom(32))
    with pytest.raises(StorageUnavailable, match="no-such-bucket.*NoSuchBucket"):
        store.save(Purpose.MATERIAL, SCAN)


@contextmanager
def nobody_listening() -> Iterator[str]:
    """An address where a connection is refused at once: a port bound but never listened on."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{held.getsockname()[1]}"


def test_an_unreachable_s3_service_is_told_as_unavailable():
    with nobody_listening() as endpoint:
        store = DocumentStore(S3Backend("bucket", endpoint_url=endpoint, region=REGION), os.urandom(32))
        with pytest.raises(StorageUnavailable):
            store.save(Purpose.MATERIAL, SCAN)
        with pytest.raises(StorageUnavailable):
            store.read("materials/" + "0" * 32)
