"""Checking and storing uploaded materials.

A material is trusted only after Pillow has decoded every pixel; it is then re-encoded
from the pixels alone, which drops EXIF (GPS, device), comments and anything appended
to the file. Stored files get random names outside the static folder.
"""
from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from public.validators import N_

ACCEPTED_FORMATS = {"JPEG", "PNG", "BMP"}
MAX_PIXELS = 40_000_000  # far above any scan; stops decompression bombs early


class InvalidUpload(ValueError):
    pass


@dataclass(frozen=True)
class CheckedImage:
    content: bytes
    content_type: str
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def check_image(data: bytes, max_bytes: int) -> CheckedImage:
    if not data:
        raise InvalidUpload(N_("Please choose a file."))
    if len(data) > max_bytes:
        raise InvalidUpload(N_("The file is larger than 1.5 MB."))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            image_format = probe.format
            if image_format not in ACCEPTED_FORMATS:
                raise InvalidUpload(N_("Only JPG, JPEG, PNG and BMP images are accepted."))
            if probe.width * probe.height > MAX_PIXELS:
                raise InvalidUpload(N_("The image has too many pixels."))
            probe.load()
            image = ImageOps.exif_transpose(probe)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise InvalidUpload(N_("The file is not a readable image.")) from exc
    return _reencode(image, image_format)


def _reencode(image: Image.Image, image_format: str) -> CheckedImage:
    out = io.BytesIO()
    if image_format == "JPEG":
        clean = Image.frombytes(image.mode, image.size, image.tobytes())
        if clean.mode not in ("RGB", "L"):
            clean = clean.convert("RGB")
        clean.save(out, "JPEG", quality=90, optimize=True)
        content_type = "image/jpeg"
    else:
        # Screenshots and BMP scans become PNG: lossless and understood by every browser.
        mode = image.mode if image.mode in ("RGB", "RGBA", "L", "LA") else "RGBA"
        converted = image.convert(mode)
        clean = Image.frombytes(mode, converted.size, converted.tobytes())
        clean.save(out, "PNG", optimize=True)
        content_type = "image/png"
    return CheckedImage(out.getvalue(), content_type, image.width, image.height)


class MaterialStore:
    """Files on disk under random names; two levels of folders keep directories small."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def save(self, content: bytes) -> str:
        name = secrets.token_hex(16)
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return name

    def read(self, name: str) -> bytes:
        return self._path(name).read_bytes()

    def _path(self, name: str) -> Path:
        if len(name) != 32 or not all(c in "0123456789abcdef" for c in name):
            raise ValueError("not a stored material name")
        return self.root / name[:2] / name
