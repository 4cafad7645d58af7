"""Bringing what was kept before the document store into it (`flask --app wsgi storage migrate`):
the materials' plain files under UPLOAD_FOLDER (`<2 hex>/<32 hex>`, the name in the row) are
sealed into the store as `materials/<32 hex>`, and the invoice PDFs kept in their rows move into
the store.

Each step can be cut off and run again. A material is sealed into the store and read back before
its rows are renamed; its plain file is deleted only once the rename is committed, and a later run
deletes a plain file whose material is in the store already. An invoice's PDF goes under a name
derived from its number, so a run cut off before its commit writes the same object again rather
than leaving another behind.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from documents.storage import DocumentStore, ObjectMissing, Purpose
from models import Invoice, Material

_LEGACY_NAME = re.compile(r"[0-9a-f]{32}")


@dataclass
class Migrated:
    """What a run did, for the command to print."""

    materials_sealed: int = 0  # plain files sealed into the store
    materials_renamed: int = 0  # material rows now naming their sealed object
    plain_files_deleted: int = 0
    invoices_moved: int = 0
    missing: list[str] = field(default_factory=list)  # rows naming a plain file that is not there


def legacy_path(upload_folder: str | Path, name: str) -> Path:
    return Path(upload_folder) / name[:2] / name


def legacy_material_names(session: Session) -> list[str]:
    """The plain files' names material rows still hold (demo data shares one file among rows)."""
    names = session.scalars(select(Material.stored_name).where(Material.stored_name.not_like("%/%")).distinct())
    return sorted(name for name in names if _LEGACY_NAME.fullmatch(name))


def seal_material_file(session: Session, store: DocumentStore, upload_folder: str | Path, name: str,
                       migrated: Migrated) -> Path | None:
    """Seal one plain file into the store and rename the rows naming it; the plain file to delete
    once this is committed (None when there is none)."""
    sealed = f"{Purpose.MATERIAL.value}/{name}"
    plain = legacy_path(upload_folder, name)
    if plain.is_file():
        content = plain.read_bytes()
        store.put(sealed, content)
        if store.read(sealed) != content:  # never delete a plain file the store does not give back
            raise RuntimeError(f"{sealed} does not read back as written")
        migrated.materials_sealed += 1
    else:
        try:
            store.read(sealed)  # sealed by a run cut off before its commit
        except ObjectMissing:
            migrated.missing.append(str(plain))
            return None
    renamed = session.execute(update(Material).where(Material.stored_name == name).values(stored_name=sealed))
    migrated.materials_renamed += renamed.rowcount
    return plain if plain.is_file() else None


def leftover_plain_files(session: Session, upload_folder: str | Path) -> list[Path]:
    """Plain files whose material is in the store already (a run cut off after its commit)."""
    root = Path(upload_folder)
    found = {path.name: path for path in root.glob("??/*") if _LEGACY_NAME.fullmatch(path.name)}
    if not found:
        return []
    sealed = {f"{Purpose.MATERIAL.value}/{name}" for name in found}
    in_store = set(session.scalars(select(Material.stored_name).where(Material.stored_name.in_(sealed))))
    return [path for name, path in sorted(found.items()) if f"{Purpose.MATERIAL.value}/{name}" in in_store]


def invoices_to_move(session: Session) -> list[int]:
    return list(session.scalars(select(Invoice.id).where(Invoice.pdf_name.is_(None), Invoice.legacy_pdf.is_not(None))
                                .order_by(Invoice.id)))


def move_invoice_pdf(session: Session, store: DocumentStore, invoice: Invoice, migrated: Migrated) -> None:
    name = f"{Purpose.INVOICE.value}/{hashlib.sha256(f'invoice {invoice.number}'.encode()).hexdigest()[:32]}"
    store.put(name, invoice.legacy_pdf)
    invoice.pdf_name, invoice.legacy_pdf = name, None
    migrated.invoices_moved += 1
