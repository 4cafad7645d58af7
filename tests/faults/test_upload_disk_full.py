"""Fault: the upload disk fills up. The document store keeps its files on a "disk" of a fixed
size (a real folder; a write that does not fit fails with ENOSPC when it is flushed, as on a
file system that allocates late, or a full quota). Through the public form and the channel API:
the applicant is told the file was not kept, no material row is left without its file nor a file
without its row, the application stays as it was, and once space is freed the retry keeps it.
Rows and files are counted before and after."""
from __future__ import annotations

import errno
import io
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from documents import storage_backends
from documents.storage import DocumentStore
from documents.storage_backends import FilesystemBackend
from models import AuditEntry, Material, Order
from public.openapi import APPLICATION_EXAMPLE
from tests.conftest import image_bytes
from tests.documents.conftest import KEY

NOT_KEPT_EN = "The document could not be stored just now. Nothing was kept; please try again in a moment."
NOT_KEPT_ZH = "文件暂时无法保存，本次未保存任何内容，请稍后再试。"


class SmallDisk:
    """A disk of `size` bytes mounted at `root`. Only fsyncs of files under `root` are checked,
    so the database and the rest of the machine write as usual."""

    def __init__(self, root: Path, size: int):
        self.root, self.size = root, size
        self.root.mkdir(parents=True)
        self._fsync = os.fsync

    def used(self) -> int:
        return sum(path.stat().st_size for path in self.root.rglob("*") if path.is_file())

    def fill(self, leaving: int) -> None:
        """Other data fills the disk but for `leaving` bytes."""
        (self.root / "ballast").write_bytes(b"\0" * (self.size - self.used() - leaving))

    def free(self) -> None:
        (self.root / "ballast").unlink()

    def fsync(self, fd: int) -> None:
        on_this_disk = os.readlink(f"/proc/self/fd/{fd}").startswith(str(self.root))
        if on_this_disk and self.used() > self.size:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._fsync(fd)

    def stored(self) -> set[str]:
        """The names of the objects on the disk (temporary files, which a reader never takes for
        an object, included: a failed write must leave none)."""
        return {f"{path.parent.parent.name}/{path.name}" for path in (self.root / "materials").glob("??/*")} \
            if (self.root / "materials").exists() else set()


@pytest.fixture
def disk(tmp_path, monkeypatch, replace_service) -> SmallDisk:
    disk = SmallDisk(tmp_path / "uploads", 10 * 1024 * 1024)
    monkeypatch.setattr(storage_backends.os, "fsync", disk.fsync)
    replace_service(DocumentStore, DocumentStore(FilesystemBackend(disk.root), KEY))
    return disk


def _counted(session, number: str) -> dict:
    """What a look at the tables and the disk finds for one order."""
    session.expire_all()
    order = session.scalar(select(Order).where(Order.number == number))
    rows = session.scalars(select(Material).where(Material.order_id == order.id)).all()
    return {"rows": {m.stored_name for m in rows}, "in_force": {str(m.kind) for m in rows if m.superseded_at is None},
            "uploads_audited": session.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.order_id == order.id, AuditEntry.action == "material.uploaded")),
            "status": order.status, "organisation": order.organisation.name, "orders": session.scalar(
                select(func.count()).select_from(Order))}


def _post(client, number: str, kinds: tuple[str, ...], lang: str = "en", color=(200, 30, 30)):
    return client.post(f"/apply/{number}/materials?lang={lang}", content_type="multipart/form-data",
                       data={kind: (io.BytesIO(image_bytes(color=color)), f"{kind}.png") for kind in kinds})


def _error_for(page: str, kind: str) -> str:
    match = re.search(rf'data-error-for="{kind}">([^<]*)<', page)
    return match.group(1) if match else ""


def test_a_full_disk_on_the_form_keeps_what_fits_tells_what_did_not_and_the_retry_keeps_it(
        client, order_number, db_session, disk):
    assert _post(client, order_number, ("business_licence",)).status_code == 302
    before = _counted(db_session, order_number)
    assert before["rows"] == disk.stored() and len(before["rows"]) == 1
    blob_size = disk.used()

    disk.fill(leaving=blob_size + blob_size // 2)  # room for one more file, not two
    page = _post(client, order_number, ("agent_id_front", "agent_id_back"), color=(0, 0, 200))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert _error_for(text, "agent_id_front") == ""  # kept, and shown as uploaded
    assert _error_for(text, "agent_id_back") == NOT_KEPT_EN
    after = _counted(db_session, order_number)
    assert after["rows"] == disk.stored() and len(after["rows"]) == 2  # one row, one file more
    assert after["in_force"] == {"business_licence", "agent_id_front"}
    assert after["uploads_audited"] == 2
    assert {k: after[k] for k in ("status", "organisation", "orders")} == {
        k: before[k] for k in ("status", "organisation", "orders")}
    assert not list(disk.root.rglob("*.tmp"))

    # The disk is full now: nothing fits, and the page says so in Chinese as well.
    zh = _post(client, order_number, ("agent_id_back", "business_licence"), lang="zh_CN", color=(0, 200, 0))
    assert zh.status_code == 200
    assert _error_for(zh.get_data(as_text=True), "agent_id_back") == NOT_KEPT_ZH
    assert _error_for(zh.get_data(as_text=True), "business_licence") == NOT_KEPT_ZH
    assert _counted(db_session, order_number) == after  # the licence in force is still the first one
    assert disk.stored() == after["rows"]

    disk.free()
    assert _post(client, order_number, ("agent_id_back",), lang="en").status_code == 302
    retried = _counted(db_session, order_number)
    assert retried["rows"] == disk.stored() and len(retried["rows"]) == 3
    assert retried["in_force"] == {"business_licence", "agent_id_front", "agent_id_back"}


@pytest.fixture
def channel_key(runner):
    result = runner.invoke(args=["channel", "create", "某市公共资源交易中心", "--code", "faults-disk"])
    assert result.exit_code == 0, result.output
    return result.output.split("api key:")[1].strip()


def test_a_full_disk_on_the_channel_api_answers_503_keeps_no_row_and_the_retry_keeps_it(
        client, channel_key, db_session, disk):
    headers = {"Authorization": f"Bearer {channel_key}"}
    number = client.post("/api/v1/applications", json=APPLICATION_EXAMPLE, headers=headers).get_json()["number"]

    def put(kind: str, color=(200, 30, 30)):
        return client.put(f"/api/v1/applications/{number}/materials/{kind}", data=image_bytes(color=color),
                          content_type="image/png", headers=headers)

    assert put("business_licence").status_code == 200
    before = _counted(db_session, number)
    assert before["rows"] == disk.stored() and len(before["rows"]) == 1

    disk.fill(leaving=disk.used() // 2)
    for kind in ("business_licence", "agent_id_front"):
        answer = put(kind, color=(0, 0, 200))
        assert answer.status_code == 503, kind
        assert answer.get_json() == {"error": "the document store is unavailable; nothing was kept, try again"}
    assert _counted(db_session, number) == before
    assert disk.stored() == before["rows"] and not list(disk.root.rglob("*.tmp"))
    status = client.get(f"/api/v1/applications/{number}", headers=headers).get_json()
    assert status["materials"]["business_licence"] and not status["materials"]["agent_id_front"]

    disk.free()
    answer = put("agent_id_front", color=(0, 0, 200))
    assert answer.status_code == 200 and answer.get_json()["materials"]["agent_id_front"]
    retried = _counted(db_session, number)
    assert retried["rows"] == disk.stored() and len(retried["rows"]) == 2
