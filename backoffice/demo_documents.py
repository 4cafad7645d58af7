"""The documents of demo applications: the drawn pictures of each kind of material
(documents.drawings), encoded and stored the way uploads are, and the file names applicants give them."""
from __future__ import annotations

import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import drawings
from documents.materials import check_image
from documents.storage import CannotOpen, DocumentStore, ObjectMissing, Purpose, StorageUnavailable
from models import Material, MaterialKind

FILE_LABELS = {MaterialKind.BUSINESS_LICENCE: "营业执照", MaterialKind.AGENT_ID_FRONT: "身份证正面",
               MaterialKind.AGENT_ID_BACK: "身份证反面", MaterialKind.ESEAL_SAMPLE_FORM: "电子印章采集表",
               MaterialKind.AUTHORISATION_LETTER: "法人授权书",
               MaterialKind.PAYMENT_PROOF: "付款凭证"}

# Scans are JPEG, filled-in forms PNG, as applicants upload them.
_FORMATS = {MaterialKind.BUSINESS_LICENCE: "JPEG", MaterialKind.AGENT_ID_FRONT: "JPEG",
            MaterialKind.AGENT_ID_BACK: "JPEG", MaterialKind.ESEAL_SAMPLE_FORM: "PNG",
            MaterialKind.AUTHORISATION_LETTER: "PNG", MaterialKind.PAYMENT_PROOF: "JPEG"}


def _draw(kind: MaterialKind, variant: int) -> bytes:
    out = io.BytesIO()
    drawings.draw(kind, variant).save(out, _FORMATS[kind])
    return out.getvalue()


def store_images(session: Session, store: DocumentStore) -> dict[MaterialKind, list[tuple[dict, str]]]:
    """Two images per kind of material, stored as uploads are; a blob already stored is reused.
    Returns the material columns each image fills, and its file name extension."""
    images: dict[MaterialKind, list[tuple[dict, str]]] = {}
    for kind in MaterialKind:
        for variant in (0, 1):
            checked = check_image(_draw(kind, variant), max_bytes=1 << 20)
            name = session.scalar(select(Material.stored_name).where(Material.sha256 == checked.sha256).limit(1))
            try:
                reusable = name is not None and store.read(name) == checked.content
            except (ObjectMissing, CannotOpen, StorageUnavailable, ValueError):
                reusable = False
            columns = {"kind": kind, "stored_name": name if reusable else store.save(Purpose.MATERIAL, checked.content),
                       "content_type": checked.content_type, "size_bytes": len(checked.content),
                       "sha256": checked.sha256, "width": checked.width, "height": checked.height}
            images.setdefault(kind, []).append((columns, "jpg" if checked.content_type == "image/jpeg" else "png"))
    return images
