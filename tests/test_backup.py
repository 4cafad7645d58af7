"""`flask --app wsgi backup DEST` and `restore SRC`, round-tripped between two instances on databases
of their own (SQLite, or PostgreSQL under TEST_DATABASE_URL), as an operator runs them; the stored
documents in a folder, or in a bucket of the test run's S3-compatible server."""
from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from documents.storage import DocumentStore, Purpose
from documents.storage_backends import filesystem_store
from models import AuditEntry, Material, Order
from models.audit_chain import Anchor
from tests.databases import POSTGRESQL_URL, own_app
from tests.factories import folder_store, paid_order
from tests.s3 import REGION, bucket_objects, new_bucket
from web.extensions import db
from web.services import find_service, service_replaced


@pytest.fixture
def source(tmp_path, tmp_path_factory, database_url):
    """An instance with three paid orders, their uploaded materials and a sealed audit chain."""
    (tmp_path / "source").mkdir()
    with own_app(tmp_path / "source", tmp_path_factory, database_url) as app:
        with app.app_context():
            for _ in range(3):
                paid_order(db.session, app.config["UPLOAD_FOLDER"])
                db.session.commit()
        sealed = app.test_cli_runner().invoke(args=["audit", "seal"])
        assert sealed.exit_code == 0, sealed.output
        yield app


@pytest.fixture
def target(tmp_path, tmp_path_factory, database_url):
    """A fresh, empty instance: migrated (with the demo catalogue) but without orders or files."""
    (tmp_path / "target").mkdir()
    with own_app(tmp_path / "target", tmp_path_factory, database_url) as app:
        yield app


def _materials(app) -> dict[str, dict[str, bytes]]:
    """Order number -> each material's kind -> its document, as the app's store gives it back."""
    with app.app_context():
        store = find_service(DocumentStore)
        orders = db.session.scalars(select(Order).order_by(Order.number)).all()
        return {order.number: {material.kind.value: store.read(material.stored_name)
                               for material in db.session.scalars(select(Material).filter_by(order_id=order.id))}
                for order in orders}


def _files(folder: str) -> dict[str, bytes]:
    root = Path(folder)
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def _backup(app, dest: Path) -> dict:
    done = app.test_cli_runner().invoke(args=["backup", str(dest)])
    assert done.exit_code == 0, done.output
    return json.loads((dest / "manifest.json").read_text())


def test_a_backup_restored_into_an_empty_instance_verifies_with_every_order_and_file(source, target, tmp_path):
    dest = tmp_path / "backup"
    manifest = _backup(source, dest)
    with source.app_context():
        head = db.session.scalar(select(func.max(AuditEntry.seq)))
    kind = "postgresql" if POSTGRESQL_URL else "sqlite"
    assert manifest["database"]["kind"] == kind and manifest["audit_head"]["seq"] == head
    assert manifest["counts"]["stored"] == 15  # five materials each
    assert len([name for name in manifest["sha256"] if name.startswith("files/store/materials/")]) == 15
    for name in manifest["sha256"]:  # the backup holds the documents sealed, as the store does
        assert not (dest / name).read_bytes().startswith((b"\x89PNG", b"\xff\xd8")), name

    restored = target.test_cli_runner().invoke(args=["restore", str(dest)])
    assert restored.exit_code == 0, restored.output
    assert f"database restored ({kind}" in restored.output and "3 order(s)" in restored.output
    assert "documents restored: 15 stored object(s)" in restored.output

    verified = target.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 0 and verified.output == "audit log intact\n", verified.output
    assert _materials(target) == _materials(source) and len(_materials(target)) == 3
    assert _files(target.config["UPLOAD_FOLDER"]) == _files(source.config["UPLOAD_FOLDER"])
    with target.app_context():
        entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert (entry.seq, entry.actor, entry.action) == (head + 1, "cli", "backup.restored")
    # The target's anchor continues the backup's with the restore entry's head.
    assert Anchor(target.config["AUDIT_ANCHOR_PATH"]).lines()[:-1] == Anchor(source.config["AUDIT_ANCHOR_PATH"]).lines()

    # The restored instance is no longer empty: a second restore is refused.
    again = target.test_cli_runner().invoke(args=["restore", str(dest)])
    assert again.exit_code == 1
    assert "refused: this instance is not empty (the database holds 3 order(s))" in again.output


def test_an_anchor_that_outlived_the_database_is_acknowledged(source, target, tmp_path):
    """The anchor, kept on other storage, names heads written after the backup: the restore
    acknowledges them as `audit acknowledge-restore` does, and verify passes."""
    dest = tmp_path / "backup"
    manifest = _backup(source, dest)
    with source.app_context():
        paid_order(db.session, source.config["UPLOAD_FOLDER"])
        db.session.commit()
    shutil.copy(source.config["AUDIT_ANCHOR_PATH"], target.config["AUDIT_ANCHOR_PATH"])

    restored = target.test_cli_runner().invoke(args=["restore", str(dest)])
    assert restored.exit_code == 0, restored.output
    assert "anchor: the instance's own anchor kept" in restored.output
    assert f"restore acknowledged as entry {manifest['audit_head']['seq'] + 1}" in restored.output
    verified = target.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.output == "audit log intact\n", verified.output
    assert len(_materials(target)) == 3


def test_restore_into_an_instance_with_orders_is_refused_and_changes_nothing(source, tmp_path):
    dest = tmp_path / "backup"
    _backup(source, dest)
    materials, files = _materials(source), _files(source.config["UPLOAD_FOLDER"])
    anchor = Anchor(source.config["AUDIT_ANCHOR_PATH"]).lines()

    refused = source.test_cli_runner().invoke(args=["restore", str(dest)])
    assert refused.exit_code == 1
    assert "refused: this instance is not empty (the database holds 3 order(s))" in refused.output
    assert _materials(source) == materials and _files(source.config["UPLOAD_FOLDER"]) == files
    assert Anchor(source.config["AUDIT_ANCHOR_PATH"]).lines() == anchor
    assert source.test_cli_runner().invoke(args=["audit", "verify"]).output == "audit log intact\n"


def test_restore_into_an_instance_with_stored_documents_is_refused(source, target, tmp_path):
    dest = tmp_path / "backup"
    _backup(source, dest)
    folder_store(target.config["UPLOAD_FOLDER"]).save(Purpose.MATERIAL, b"left over")
    refused = target.test_cli_runner().invoke(args=["restore", str(dest)])
    assert refused.exit_code == 1 and "the document store holds 1 object(s)" in refused.output
    assert _materials(target) == {}


def test_a_tampered_backup_is_refused_by_the_manifest(source, target, tmp_path):
    dest = tmp_path / "backup"
    manifest = _backup(source, dest)
    name = next(name for name in sorted(manifest["sha256"]) if name.startswith("files/store/"))
    (dest / name).write_bytes((dest / name).read_bytes() + b"\0")

    refused = target.test_cli_runner().invoke(args=["restore", str(dest)])
    assert refused.exit_code == 1
    assert f"{name} differs from the SHA-256 in the manifest: refused" in refused.output
    assert _materials(target) == {} and _files(target.config["UPLOAD_FOLDER"]) == {}
    assert Anchor(target.config["AUDIT_ANCHOR_PATH"]).lines() == []


def test_backup_refuses_a_folder_that_is_not_empty(source, tmp_path):
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "something").write_text("x")
    refused = source.test_cli_runner().invoke(args=["backup", str(tmp_path / "backup")])
    assert refused.exit_code == 1 and "exists and is not empty" in refused.output


@pytest.mark.skipif(not POSTGRESQL_URL, reason="PostgreSQL only (TEST_DATABASE_URL)")
def test_on_postgresql_the_database_is_a_pg_dump_in_custom_format(source, tmp_path):
    manifest = _backup(source, tmp_path / "backup")
    assert manifest["database"] == {"kind": "postgresql", "file": "database.dump"}
    assert (tmp_path / "backup" / "database.dump").read_bytes().startswith(b"PGDMP")


def test_restore_with_another_storage_key_is_refused_before_anything_is_restored(source, target, tmp_path):
    dest = tmp_path / "backup"
    _backup(source, dest)
    other_key = filesystem_store(target.config["UPLOAD_FOLDER"], os.urandom(32))
    with service_replaced(target, DocumentStore, other_key):
        refused = target.test_cli_runner().invoke(args=["restore", str(dest)])
    assert refused.exit_code == 1
    assert "does not open here" in refused.output and "STORAGE_ENCRYPTION_KEY" in refused.output
    assert _materials(target) == {} and _files(target.config["UPLOAD_FOLDER"]) == {}


def test_documents_in_a_bucket_are_backed_up_and_restored_through_the_store(tmp_path, tmp_path_factory, s3_endpoint,
                                                                            database_url):
    """Two instances keep their documents in buckets of an S3-compatible server: the backup copies
    the sealed blobs out of one bucket, the restore into the other."""
    for side in ("source", "target"):
        (tmp_path / side).mkdir()
    source_bucket, target_bucket = new_bucket(s3_endpoint), new_bucket(s3_endpoint)
    with (own_app(tmp_path / "source", tmp_path_factory, database_url) as source,
          own_app(tmp_path / "target", tmp_path_factory, database_url) as target,
          service_replaced(source, DocumentStore, _bucket_store(source, s3_endpoint, source_bucket)) as in_bucket,
          service_replaced(target, DocumentStore, _bucket_store(target, s3_endpoint, target_bucket))):
        with source.app_context():
            for _ in range(2):
                paid_order(db.session, in_bucket)
                db.session.commit()
        assert source.test_cli_runner().invoke(args=["audit", "seal"]).exit_code == 0
        manifest = _backup(source, tmp_path / "backup")
        assert manifest["counts"]["stored"] == 10

        restored = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "backup")])
        assert restored.exit_code == 0, restored.output
        assert "documents restored: 10 stored object(s)" in restored.output
        assert bucket_objects(s3_endpoint, target_bucket) == bucket_objects(s3_endpoint, source_bucket)
        assert _materials(target) == _materials(source) and len(_materials(target)) == 2
        assert _files(target.config["UPLOAD_FOLDER"]) == {}
        assert target.test_cli_runner().invoke(args=["audit", "verify"]).output == "audit log intact\n"


def _bucket_store(app, endpoint: str, bucket: str) -> DocumentStore:
    from documents.storage_backends import S3Backend

    return DocumentStore(S3Backend(bucket, prefix="backoffice/", endpoint_url=endpoint, region=REGION),
                         base64.b64decode(app.config["STORAGE_ENCRYPTION_KEY"]))
