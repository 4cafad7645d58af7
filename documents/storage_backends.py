"""Where the document store keeps its sealed blobs: a folder (the embedded default, or a shared
mount) or an S3-compatible bucket. STORAGE_BACKEND chooses; both get the blobs already sealed
by documents.storage.DocumentStore, so neither sees a document in the clear."""
from __future__ import annotations

import base64
import logging
import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask

from documents.storage import DocumentStore, ObjectMissing, Purpose, StorageUnavailable, check_name
from web import services
from web.services import Implementation

log = logging.getLogger(__name__)


class FilesystemBackend:
    """Blobs as files `<root>/<purpose>/<2 hex>/<name>`: two levels keep folders small."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def put(self, name: str, blob: bytes) -> None:
        """Written to a temporary file, flushed to the disk, then renamed into place: a reader
        never sees half a blob, and a crash leaves at most a temporary file."""
        path = self._path(name)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with temporary.open("xb") as file:
                file.write(blob)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
            _fsync_folder(path.parent)  # the name, too, is on the disk
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            log.error("could not store %s in %s: %s", name, self.root, exc)
            raise StorageUnavailable(f"{self.root}: {exc}") from exc

    def get(self, name: str) -> bytes:
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            raise ObjectMissing(name) from None
        except OSError as exc:
            raise StorageUnavailable(f"{self.root}: {exc}") from exc

    def delete(self, name: str) -> None:
        try:
            self._path(name).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"{self.root}: {exc}") from exc

    def names(self, purpose: Purpose) -> Iterator[str]:
        for path in sorted((self.root / purpose.value).glob("??/*")):
            if not path.name.startswith("."):
                yield f"{purpose.value}/{path.name}"

    def _path(self, name: str) -> Path:
        purpose, _, object_id = check_name(name).partition("/")
        return self.root / purpose / object_id[:2] / object_id


def _fsync_folder(folder: Path) -> None:
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


class S3Backend:
    """Blobs as objects `<prefix><name>` of one bucket of an S3-compatible service (AWS S3, MinIO,
    Ceph, Aliyun OSS and Tencent COS in their S3 modes). Credentials come from boto3's standard
    chain (environment, shared files, instance role), never from the back office's settings.
    An upload answered 200 is durable; one that fails raises, and nothing names it."""

    def __init__(self, bucket: str, *, prefix: str = "", endpoint_url: str | None = None,
                 region: str | None = None, client: Any = None):
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None,
            # A request that hangs holds the applicant's upload: fail soon, retry a little.
            config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}))

    def put(self, name: str, blob: bytes) -> None:
        with self._errors(name):
            self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=blob,
                                   ContentType="application/octet-stream")

    def get(self, name: str) -> bytes:
        with self._errors(name):
            return self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read()

    def delete(self, name: str) -> None:
        with self._errors(name):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(name))

    def names(self, purpose: Purpose) -> Iterator[str]:
        start = f"{self.prefix}{purpose.value}/"
        with self._errors(start):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
                for item in page.get("Contents", []):
                    yield item["Key"].removeprefix(self.prefix)

    def _key(self, name: str) -> str:
        return self.prefix + check_name(name)

    @contextmanager
    def _errors(self, name: str) -> Iterator[None]:
        """botocore's errors as the store's: a missing key is ObjectMissing, anything else
        (refused, unreachable, timed out) StorageUnavailable."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise ObjectMissing(name) from None
            log.error("S3 bucket %s, %s: %s", self.bucket, name, error)
            raise StorageUnavailable(f"bucket {self.bucket}: {error}") from error
        except BotoCoreError as error:
            log.error("S3 bucket %s, %s: %s", self.bucket, name, error)
            raise StorageUnavailable(f"bucket {self.bucket}: {error}") from error


def store_key(config: Mapping[str, Any]) -> bytes:
    return base64.b64decode(config["STORAGE_ENCRYPTION_KEY"])


def filesystem_store(root: str | Path, key: bytes) -> DocumentStore:
    return DocumentStore(FilesystemBackend(root), key)


def _s3_store(config: Mapping[str, Any]) -> DocumentStore:
    return DocumentStore(S3Backend(config["STORAGE_S3_BUCKET"], prefix=config["STORAGE_S3_PREFIX"],
                                   endpoint_url=config["STORAGE_S3_ENDPOINT_URL"],
                                   region=config["STORAGE_S3_REGION"]), store_key(config))


def register(app: Flask) -> None:
    """STORAGE_BACKEND chooses: `filesystem` (the default) keeps the blobs under UPLOAD_FOLDER,
    `s3` in the bucket STORAGE_S3_BUCKET. Neither is a sandbox: both keep documents for real."""
    services.register(app, DocumentStore, "STORAGE_BACKEND", {
        "filesystem": Implementation(lambda config: filesystem_store(config["UPLOAD_FOLDER"], store_key(config)),
                                     needs=("UPLOAD_FOLDER", "STORAGE_ENCRYPTION_KEY")),
        "s3": Implementation(_s3_store, needs=("STORAGE_S3_BUCKET", "STORAGE_ENCRYPTION_KEY")),
    })
