"""The document store on each backend: a folder of the test's own, and a bucket of its own on the
test run's S3-compatible server (moto's server mode, over HTTP)."""
from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from documents.storage import DocumentStore
from documents.storage_backends import FilesystemBackend, S3Backend
from tests.conftest import STORAGE_KEY
from tests.s3 import REGION, bucket_objects, new_bucket

KEY = base64.b64decode(STORAGE_KEY)


@dataclass
class Kept:
    """A store and what lies at rest where it keeps its objects, as an intruder would read it."""

    store: DocumentStore
    backend: str
    blobs: Callable[[], dict[str, bytes]]


def _files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()} \
        if root.exists() else {}


@pytest.fixture(params=["filesystem", "s3"])
def kept(request, tmp_path) -> Kept:
    if request.param == "filesystem":
        root = tmp_path / "store"
        return Kept(DocumentStore(FilesystemBackend(root), KEY), "filesystem", lambda: _files(root))
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = new_bucket(endpoint)
    backend = S3Backend(bucket, prefix="backoffice/", endpoint_url=endpoint, region=REGION)
    return Kept(DocumentStore(backend, KEY), "s3", lambda: bucket_objects(endpoint, bucket))
