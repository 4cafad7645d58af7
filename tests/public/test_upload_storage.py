"""Uploads kept in an S3-compatible bucket (the test run's moto server): a bucket that cannot take
the file keeps nothing and leaves no row, the applicant is told which file was not kept, and what
they had already (the application, the material in force) stays as it was."""
from __future__ import annotations

import io
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from documents.storage import DocumentStore
from documents.storage_backends import S3Backend
from models import Material, Order
from tests.conftest import image_bytes
from tests.documents.conftest import KEY
from tests.s3 import REGION, bucket_objects, new_bucket

NOT_KEPT = "The document could not be stored just now. Nothing was kept; please try again in a moment."


def _bucket_store(endpoint: str, bucket: str) -> DocumentStore:
    return DocumentStore(S3Backend(bucket, prefix="backoffice/", endpoint_url=endpoint, region=REGION), KEY)


@contextmanager
def refusing_store() -> Iterator[DocumentStore]:
    """A store whose S3 service refuses every connection (a port bound but never listened on)."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield _bucket_store(f"http://127.0.0.1:{held.getsockname()[1]}", "bucket")


@pytest.fixture
def unreachable_store():
    with refusing_store() as store:
        yield store


def _post(client, number: str, files: dict):
    return client.post(f"/apply/{number}/materials?lang=en", content_type="multipart/form-data",
                       data={kind: (io.BytesIO(data), name) for kind, (data, name) in files.items()})


def _error_for(page: str, kind: str) -> str:
    match = re.search(rf'data-error-for="{kind}">([^<]*)<', page)
    return match.group(1) if match else ""


def test_an_upload_the_bucket_cannot_take_keeps_nothing_and_loses_nothing(
        client, order_number, db_session, s3_endpoint, replace_service, unreachable_store):
    bucket = new_bucket(s3_endpoint)
    replace_service(DocumentStore, _bucket_store(s3_endpoint, bucket))
    assert _post(client, order_number, {"business_licence": (image_bytes(), "licence.png")}).status_code == 302
    licence = db_session.scalars(select(Material)).one()
    licence_id, stored = licence.id, bucket_objects(s3_endpoint, bucket)
    assert list(stored) == ["backoffice/" + licence.stored_name]
    organisation = db_session.scalars(select(Order).where(Order.number == order_number)).one().organisation.name

    replace_service(DocumentStore, unreachable_store)
    page = _post(client, order_number, {"business_licence": (image_bytes(color=(0, 0, 200)), "new licence.png"),
                                        "agent_id_front": (image_bytes(), "front.png")})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for kind in ("business_licence", "agent_id_front"):
        assert _error_for(text, kind) == NOT_KEPT, kind
    # No row for either file; the licence uploaded before is still the one in force, the data as typed.
    rows = db_session.scalars(select(Material)).all()
    assert [(m.id, m.superseded_at) for m in rows] == [(licence_id, None)]
    assert db_session.scalars(select(Order).where(Order.number == order_number)).one().organisation.name == organisation
    assert bucket_objects(s3_endpoint, bucket) == stored

    replace_service(DocumentStore, _bucket_store(s3_endpoint, bucket))  # the service is back: the retry works
    assert _post(client, order_number, {"agent_id_front": (image_bytes(), "front.png")}).status_code == 302
    assert len(bucket_objects(s3_endpoint, bucket)) == 2


def test_the_chinese_page_says_so_in_chinese(client, order_number, replace_service, unreachable_store):
    replace_service(DocumentStore, unreachable_store)
    page = client.post(f"/apply/{order_number}/materials", content_type="multipart/form-data",
                       data={"business_licence": (io.BytesIO(image_bytes()), "licence.png")})
    assert _error_for(page.get_data(as_text=True), "business_licence") == (
        "文件暂时无法保存，本次未保存任何内容，请稍后再试。")
