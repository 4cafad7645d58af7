"""The documents of demo applications: small drawn pictures of each kind of material, stored
the way uploads are, and the file names applicants give them."""
from __future__ import annotations

import io

from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Material, MaterialKind
from public.materials import MaterialStore, check_image

FILE_LABELS = {MaterialKind.BUSINESS_LICENCE: "营业执照", MaterialKind.AGENT_ID_FRONT: "身份证正面",
               MaterialKind.AGENT_ID_BACK: "身份证反面", MaterialKind.ESEAL_SAMPLE_FORM: "电子印章采集表",
               MaterialKind.AUTHORISATION_LETTER: "法人授权书"}

_LOOKS = {  # size, paper colour, format: scans are JPEG, filled-in forms PNG
    MaterialKind.BUSINESS_LICENCE: ((420, 300), (250, 244, 230), "JPEG"),
    MaterialKind.AGENT_ID_FRONT: ((342, 216), (224, 236, 246), "JPEG"),
    MaterialKind.AGENT_ID_BACK: ((342, 216), (236, 242, 250), "JPEG"),
    MaterialKind.ESEAL_SAMPLE_FORM: ((300, 420), (255, 255, 255), "PNG"),
    MaterialKind.AUTHORISATION_LETTER: ((300, 420), (252, 252, 246), "PNG"),
}


def _draw(kind: MaterialKind, variant: int) -> bytes:
    """A small picture of the document: frame, lines of 'text', a photo box or a red seal."""
    (w, h), paper, fmt = _LOOKS[kind]
    image = Image.new("RGB", (w, h), paper)
    draw = ImageDraw.Draw(image)
    draw.rectangle((5, 5, w - 6, h - 6), outline=(120, 110, 100), width=3)
    for row in range(7 - 2 * variant):
        y = 30 + row * 24 + variant * 9
        draw.line((22, y, int(w * (0.55 + 0.05 * (row % 3))), y), fill=(70, 70, 80), width=3)
    if kind == MaterialKind.AGENT_ID_FRONT:
        draw.rectangle((w - 110, 30, w - 25, 140), fill=(190, 196, 206))
    else:
        cx, cy, r = w - 70 - 20 * variant, h - 70, 40
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(205, 30, 35), width=5)
        draw.regular_polygon((cx, cy, 14), 5, fill=(205, 30, 35))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def store_images(session: Session, upload_folder: str) -> dict[MaterialKind, list[tuple[dict, str]]]:
    """Two images per kind of material, stored as uploads are; a blob already stored is reused.
    Returns the material columns each image fills, and its file name extension."""
    store = MaterialStore(upload_folder)
    images: dict[MaterialKind, list[tuple[dict, str]]] = {}
    for kind in MaterialKind:
        for variant in (0, 1):
            checked = check_image(_draw(kind, variant), max_bytes=1 << 20)
            name = session.scalar(select(Material.stored_name).where(Material.sha256 == checked.sha256).limit(1))
            try:
                reusable = name is not None and store.read(name) == checked.content
            except (OSError, ValueError):
                reusable = False
            columns = {"kind": kind, "stored_name": name if reusable else store.save(checked.content),
                       "content_type": checked.content_type, "size_bytes": len(checked.content),
                       "sha256": checked.sha256, "width": checked.width, "height": checked.height}
            images.setdefault(kind, []).append((columns, "jpg" if checked.content_type == "image/jpeg" else "png"))
    return images
