"""Fault: the S3 service behind the document store stops answering (the request is taken and
never answered: botocore's read timeout) or hangs up half-way, during an upload on the public form
and while a reviewer opens a material in the review console. The applicant is told the file was
not kept and no row names it; the reviewer gets a clear error, not a broken page; once the
service is back both work. Rows (material) and the bucket's objects are counted."""
from __future__ import annotations

import io
import re

import boto3
import pytest
from botocore.config import Config
from sqlalchemy import func, select

from documents.storage import DocumentStore
from documents.storage_backends import S3Backend
from models import AuditEntry, Material, Order, StaffRole
from tests import factories
from tests.conftest import image_bytes
from tests.documents.conftest import KEY
from tests.faults.misbehaving_service import CUT_SHORT, SILENT, misbehaving_service
from tests.s3 import REGION, bucket_objects, new_bucket

NOT_KEPT = "The document could not be stored just now. Nothing was kept; please try again in a moment."
PREFIX = "backoffice/"


def _store(endpoint: str, bucket: str, *, timeout: float | None = None) -> DocumentStore:
    client = None
    if timeout:  # production waits 5 s to connect and 30 s for an answer; the test, a moment
        client = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, config=Config(
            connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2, "mode": "standard"}))
    return DocumentStore(S3Backend(bucket, prefix=PREFIX, endpoint_url=endpoint, region=REGION, client=client), KEY)


@pytest.fixture(params=[SILENT, CUT_SHORT])
def failing_s3(request, s3_endpoint):
    """A store whose S3 service takes each request and does not answer in time, or hangs up
    half-way through its answer."""
    with misbehaving_service(b"<?xml version='1.0'?><PutObjectResult></PutObjectResult>" * 20,
                             "application/xml") as (url, service):
        service.mode = request.param
        yield _store(url, "bucket", timeout=0.3), service


def _materials(session, number: str) -> set[str]:
    session.expire_all()
    order_id = session.scalar(select(Order.id).where(Order.number == number))
    return set(session.scalars(select(Material.stored_name).where(Material.order_id == order_id)))


def _error_for(page: str, kind: str) -> str:
    match = re.search(rf'data-error-for="{kind}">([^<]*)<', page)
    return match.group(1) if match else ""


def test_an_upload_the_s3_service_does_not_answer_for_keeps_nothing_and_the_retry_keeps_it(
        client, order_number, db_session, s3_endpoint, replace_service, failing_s3):
    store, service = failing_s3
    bucket = new_bucket(s3_endpoint)
    replace_service(DocumentStore, store)
    page = client.post(f"/apply/{order_number}/materials?lang=en", content_type="multipart/form-data",
                       data={"business_licence": (io.BytesIO(image_bytes()), "licence.png")})
    assert page.status_code == 200
    assert _error_for(page.get_data(as_text=True), "business_licence") == NOT_KEPT
    assert service.received and _materials(db_session, order_number) == set()
    assert bucket_objects(s3_endpoint, bucket) == {}

    replace_service(DocumentStore, _store(s3_endpoint, bucket))  # the service answers again
    again = client.post(f"/apply/{order_number}/materials?lang=en", content_type="multipart/form-data",
                        data={"business_licence": (io.BytesIO(image_bytes()), "licence.png")})
    assert again.status_code == 302
    names = _materials(db_session, order_number)
    assert {PREFIX + name for name in names} == set(bucket_objects(s3_endpoint, bucket)) and len(names) == 1


def test_a_material_the_s3_service_does_not_give_back_is_a_clear_error_in_the_review_console(
        client, login_as, db_session, s3_endpoint, replace_service, failing_s3):
    bucket = new_bucket(s3_endpoint)
    working = _store(s3_endpoint, bucket)
    order = factories.paid_order(db_session, working)
    db_session.commit()
    number = order.number
    material_id = db_session.scalars(select(Material.id).where(Material.order_id == order.id)).first()
    objects = bucket_objects(s3_endpoint, bucket)
    login_as(StaffRole.REVIEWER)
    url = f"/console/orders/{number}/materials/{material_id}"

    def views() -> int:
        return db_session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "material.viewed", AuditEntry.target == f"material:{material_id}"))

    store, _ = failing_s3
    replace_service(DocumentStore, store)
    answer = client.get(url + "?lang=en")
    assert answer.status_code == 503
    assert "The document cannot be shown just now" in answer.get_data(as_text=True)
    assert views() == 0  # nothing was shown
    assert bucket_objects(s3_endpoint, bucket) == objects

    replace_service(DocumentStore, working)
    shown = client.get(url)
    assert shown.status_code == 200 and shown.mimetype == "image/png"
    assert views() == 1
