"""Uploaded materials: checking them, and which are in force.

A material is trusted only after Pillow has decoded every pixel; its pixels alone are then
drawn into a new image and re-encoded, which drops EXIF (GPS, device), comments and anything
appended to the file. The document store (documents.storage) keeps it, sealed, under a random name.

One upload's decoding stays under 200 MB (tests/public/test_upload_memory.py measures it): the
pixel count is refused from the header before anything is decoded, a big JPEG is decoded
already reduced, the new image is drawn from the decoded one a tile at a time (see `_redraw`),
and at most `DECODES_AT_ONCE` uploads are decoded at once in a process.
"""
from __future__ import annotations

import hashlib
import io
import math
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import ExifTags, Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Material, MaterialKind, Order
from web.errors import N_, InvalidValue
from web.text import plain_text

ACCEPTED_FORMATS = ("JPEG", "PNG", "BMP")
# What separates folders in a file name as a browser sends it (older ones send the whole path).
_FOLDERS = re.compile(r"[/\\]")
_FILENAME_LENGTH = Material.__table__.c.original_filename.type.length
# How the accepted formats begin: a file that does and still cannot be read is broken or cut
# short, one that does not is of another kind (GIF, HEIC, PDF).
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM")
# The defaults of the settings MATERIAL_MAX_PIXELS (a phone photo is 12 megapixels) and
# MATERIAL_MAX_SIDE (A4 at 300 dpi), and what scripts and demo data use.
MAX_PIXELS = 25_000_000
MAX_SIDE = 3508
# A side longer than this costs the decoders far more than its pixels (buffers of whole rows,
# a pointer for each row): 20,000 pixels is nearly six times a stored image's long side.
_LONGEST_SIDE = 20_000
# A decode holds up to about 180 MB at its peak: two at once bound a worker process to under
# 400 MB however many uploads arrive together; the others wait their turn.
DECODES_AT_ONCE = 2
_decoding = threading.BoundedSemaphore(DECODES_AT_ONCE)
# JPEG's decoder may keep every DCT coefficient of a progressive image (2 bytes a coefficient,
# 64 a block of 8 x 8 pixels) besides the decoded pixels; beyond this sum it would pass 200 MB.
_JPEG_BUDGET = 180_000_000
_TILE = 512  # source pixels a side read at a time, besides those the filter reaches
_LANCZOS_REACH = 3  # the Lanczos filter reads 3 pixels each side (scaled when reducing)
# EXIF orientation -> the transposition that shows the image upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def current_materials(session: Session, order: Order) -> dict[MaterialKind, Material]:
    """The order's materials in force, by kind (a replaced one is kept, marked superseded)."""
    rows = session.scalars(
        select(Material).where(Material.order_id == order.id, Material.superseded_at.is_(None))
    )
    return {m.kind: m for m in rows}


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


def check_filename(filename: str) -> str:
    """The name the applicant's file had, kept for the reviewers (never to name what is stored):
    control and invisible characters (a NUL is refused by PostgreSQL) are refused here, per file.
    Only the file's own name is kept, not the folders a browser may send with it (they can name the
    applicant's account on their computer), and at most `_FILENAME_LENGTH` characters of it, the
    end kept (it has the extension)."""
    try:
        plain_text(filename)
    except InvalidValue:
        raise InvalidUpload(N_("The file name contains control or invisible characters. "
                               "Please rename the file and upload it again.")) from None
    name = _FOLDERS.split(filename)[-1]
    return name if len(name) <= _FILENAME_LENGTH else "…" + name[1 - _FILENAME_LENGTH:]


def check_image(data: bytes, max_bytes: int, *, max_pixels: int = MAX_PIXELS,
                max_side: int = MAX_SIDE) -> CheckedImage:
    """Decode the upload completely and re-encode it at most `max_side` pixels on its long side:
    JPEG stays JPEG, PNG and BMP become PNG."""
    if not data:
        raise InvalidUpload(N_("The file is empty. Please choose the scan or photo again."))
    if len(data) > max_bytes:
        raise InvalidUpload(N_("The file is larger than 1.5 MB."))
    with _decoding:
        try:
            image, is_jpeg = _decode(data, max_pixels, max_side)
        except InvalidUpload:
            raise
        except Image.DecompressionBombError as exc:
            raise InvalidUpload(N_("The image has too many pixels.")) from exc
        except UnidentifiedImageError as exc:
            if data.startswith(_SIGNATURES):
                raise InvalidUpload(N_("The file is not a readable image.")) from exc
            raise InvalidUpload(N_("Only JPG, JPEG, PNG and BMP images are accepted.")) from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise InvalidUpload(N_("The file is not a readable image.")) from exc
        with image:
            return _encode(image, is_jpeg)


class _Upload(io.BytesIO):
    """The uploaded bytes as a file that notes when a decoder reads on past its end.

    A decoder reads until the image is complete, so one that reads at the end of the file has
    run out of data. Pillow refuses such a file only while `ImageFile.LOAD_TRUNCATED_IMAGES` is
    off, and that switch is process-wide: WeasyPrint turns it on when it is imported (its images
    then get grey where data is missing; reports.pdf turns it off again). Noting the read here
    refuses a cut-short image however the switch is set.
    """

    ran_out = False

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        if not chunk and size != 0:
            self.ran_out = True
        return chunk


def _decode(data: bytes, max_pixels: int, max_side: int) -> tuple[Image.Image, bool]:
    """The upload's pixels in a new image no longer than `max_side`, upright, and whether it was a JPEG."""
    upload = _Upload(data)
    with Image.open(upload, formats=ACCEPTED_FORMATS) as source:
        # Refused from the header, before a pixel is decoded.
        if source.width * source.height > max_pixels:
            raise InvalidUpload(N_("The image has too many pixels."))
        if max(source.size) > _LONGEST_SIDE:
            raise InvalidUpload(N_("The image is too long or too narrow: no side may be longer "
                                   "than 20,000 pixels."))
        size = _fitted(source.size, max_side)
        is_jpeg = source.format == "JPEG"
        if is_jpeg:
            full_size = source.size
            # The decoder scales by 1/2, 1/4 or 1/8 while decoding, never below `size`.
            source.draft(None, size)
            if _jpeg_decoding_bytes(source, full_size, size) > _JPEG_BUDGET:
                raise InvalidUpload(N_("The image has too many pixels."))
        source.load()
        if upload.ran_out:
            raise InvalidUpload(N_("The file is not a readable image."))
        upright = _UPRIGHT.get(source.getexif().get(ExifTags.Base.Orientation))
        image = _redraw(source, size, _stored_mode(source))
    if upright is None:
        return image, is_jpeg
    with image:
        return image.transpose(upright), is_jpeg


def _fitted(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    width, height = size
    scale = max_side / max(width, height)
    if scale >= 1:
        return size
    return max(1, round(width * scale)), max(1, round(height * scale))


def _jpeg_decoding_bytes(source: Image.Image, full_size: tuple[int, int], size: tuple[int, int]) -> int:
    """The most a JPEG holds while decoded and redrawn: its decoded pixels (after `draft`), and
    beside them first the decoder's coefficients, then the new image.

    A progressive JPEG, or one whose components come in separate scans, keeps every DCT
    coefficient of the full-size image while decoding (2 bytes each, 64 for a block of 8 x 8
    pixels of a component). Only the decoder learns how the scans come, so every JPEG is
    counted so. With the usual 4:2:0 subsampling every JPEG up to 25 megapixels passes; without
    subsampling one passes up to 18 megapixels (4:4:4 RGB) or 15 (CMYK), unless `draft` reduces
    it: few files of 1.5 MB are that big."""
    width, height = full_size
    h_max = max(h for _, h, _, _ in source.layer)
    v_max = max(v for _, _, v, _ in source.layer)
    blocks = sum(math.ceil(width * h / h_max / 8) * math.ceil(height * v / v_max / 8)
                 for _, h, v, _ in source.layer)
    grey = source.mode == "L"
    decoded = source.width * source.height * (1 if grey else 4)
    redrawn = size[0] * size[1] * (1 if grey else 4)
    return decoded + max(blocks * 64 * 2, redrawn)


def _stored_mode(image: Image.Image) -> str:
    """Grey stays grey and transparency stays; JPEG stores neither alpha nor CMYK."""
    grey = image.mode in ("1", "L", "LA", "I", "F") or image.mode.startswith("I;16")
    alpha = image.mode in ("LA", "RGBA", "PA") or "transparency" in image.info
    if image.format == "JPEG":
        return "L" if grey else "RGB"
    if grey:
        return "LA" if alpha else "L"
    return "RGBA" if alpha else "RGB"


def _redraw(source: Image.Image, size: tuple[int, int], mode: str) -> Image.Image:
    """A new image of `size` and `mode` drawn from the pixels of `source`, a tile at a time.

    Only pixels come across: no EXIF, ICC profile, comment or text chunk. Converting or resizing
    the whole image at once would hold another full-size copy beside the decoded one (Pillow
    resamples through an intermediate image, and converts RGBA to premultiplied alpha first);
    tile by tile these copies stay small. Each tile reads the pixels around it that the filter
    reaches, so the tiles join without seams; the result differs from resizing at once only by
    rounding (Pillow picks the order of its two passes by the shape of what it resizes).
    """
    out = Image.new(mode, size)
    resizing = size != source.size
    for left, right, first_x, last_x, box_x in _spans(source.width, size[0], resizing):
        for top, bottom, first_y, last_y, box_y in _spans(source.height, size[1], resizing):
            tile = _in_mode(source.crop((first_x, first_y, last_x, last_y)), mode)
            if resizing:
                tile = tile.resize((right - left, bottom - top), Image.Resampling.LANCZOS,
                                   box=(box_x[0], box_y[0], box_x[1], box_y[1]))
            out.paste(tile, (left, top))
    return out


def _spans(source_length: int, length: int, resizing: bool) -> Iterator[tuple]:
    """Along one side: the new image's pixels [start, end) drawn from one tile, the source pixels
    [first, last) the tile reads, and where in the tile the drawn pixels come from."""
    scale = source_length / length
    step = max(1, int(_TILE / scale))
    reach = math.ceil(_LANCZOS_REACH * max(scale, 1)) + 1 if resizing else 0
    for start in range(0, length, step):
        end = min(start + step, length)
        first = max(0, math.floor(start * scale) - reach)
        last = min(source_length, math.ceil(end * scale) + reach)
        yield start, end, first, last, (start * scale - first, min(end * scale, source_length) - first)


def _in_mode(image: Image.Image, mode: str) -> Image.Image:
    if image.mode.startswith("I;16"):
        # 16-bit grey: Pillow's conversion to 8 bits clips at 255, which turns a scan white.
        image = image.point(lambda value: value / 256)
    return image if image.mode == mode else image.convert(mode)


def _encode(image: Image.Image, is_jpeg: bool) -> CheckedImage:
    out = io.BytesIO()
    if is_jpeg:
        image.save(out, "JPEG", quality=90, optimize=True)
        content_type = "image/jpeg"
    else:
        # Screenshots and BMP scans become PNG: lossless and understood by every browser.
        image.save(out, "PNG", optimize=True)
        content_type = "image/png"
    return CheckedImage(out.getvalue(), content_type, image.width, image.height)
