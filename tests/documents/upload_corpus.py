"""Hostile uploads, made in code (no binary file is kept in the repository): each with the name a
browser would send, its bytes, and what the product must do with it: refuse it with a message, or
keep it only re-encoded.

tests/documents/test_upload_corpus.py sends every upload here to every way a user has to upload
a file; a new case added here is sent everywhere.
"""
from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from dataclasses import dataclass

from PIL import Image, PngImagePlugin

# What the applicant reads (the English source strings; the pages show them translated).
NOT_ACCEPTED = "Only JPG, JPEG, PNG and BMP images are accepted."
NOT_READABLE = "The file is not a readable image."
TOO_MANY_PIXELS = "The image has too many pixels."
TOO_LONG = "The image is too long or too narrow: no side may be longer than 20,000 pixels."
TOO_LARGE = "The file is larger than 1.5 MB."
EMPTY = "The file is empty. Please choose the scan or photo again."
BAD_NAME = "The file name contains control or invisible characters. Please rename the file and upload it again."

# What no stored material may carry: a ZIP's local header or central directory, markup a browser
# that sniffs would run.
FORBIDDEN_IN_STORED = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x01\x02", b"<script", b"<html", b"<svg", b"<?xml",
                       b"<body", b"<iframe", b"javascript:")
SCRIPT = b"<html><body><script>alert(document.cookie)</script></body></html>"


@dataclass(frozen=True)
class Upload:
    """One file as a browser sends it. `refused`: the message it gets (English source), or None
    when it is kept, re-encoded as `stored_type`. `kept_name`: the name kept for the reviewers
    (None: none), when it is kept."""

    label: str
    filename: str
    content: bytes
    refused: str | None = None
    stored_type: str | None = None
    kept_name: str | None = None
    # About the name only (a plain PNG): a way to upload that sends no name (the API) skips it.
    about_the_name: bool = False


# --- images ------------------------------------------------------------------------------------

def picture(size=(120, 80)) -> Image.Image:
    """A small scan-like picture: a gradient with stripes."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    for x in range(0, size[0], 17):
        image.paste((200, 30, 30), (x, 0, x + 3, size[1]))
    return image


def encoded(image: Image.Image, fmt: str, **save) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


PLAIN_PNG = encoded(picture(), "PNG")
PLAIN_JPEG = encoded(picture(), "JPEG", quality=90)
PLAIN_BMP = encoded(picture(), "BMP")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A decompression bomb: a 1-bit grey PNG of `width` x `height` whose pixels (all zero) deflate
    to almost nothing. Only the first rows are in the file: the header alone must refuse it."""
    rows = b"".join(b"\0" + bytes((width + 7) // 8) for _ in range(min(height, 64)))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b""))


def png_with_inflating_text(size: int = 64 * 1024 * 1024) -> bytes:
    """A PNG whose compressed text chunk inflates to `size` bytes (a bomb in the metadata)."""
    text = b"Comment\0\0" + zlib.compress(b" " * size, 9)
    body = PLAIN_PNG[8:]
    iend = body.rindex(b"IEND") - 4
    return PLAIN_PNG[:8] + body[:iend] + _chunk(b"zTXt", text) + body[iend:]


def jpeg_declaring(width: int, height: int) -> bytes:
    """A JPEG whose frame header (SOF0) says `width` x `height`: only the header changed."""
    data = bytearray(PLAIN_JPEG)
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def bmp_declaring(width: int, height: int) -> bytes:
    """A 24-bit BMP header saying `width` x `height`, followed by a few pixels only."""
    pixels = bytes(3 * 64)
    offset = 14 + 40
    return (struct.pack("<2sIHHI", b"BM", offset + len(pixels), 0, 0, offset)
            + struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0) + pixels)


def noise_png(size=(900, 700)) -> bytes:
    """A PNG that does not compress: larger than the per-file limit."""
    rng = random.Random(24)
    return encoded(Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3)), "PNG")


def zip_of(name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return out.getvalue()


def png_with_text_chunk(text: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", text)
    info.add_text("Description", text, zip=True)
    info.add_itxt("XML:com.adobe.xmp", text)
    return encoded(picture(), "PNG", pnginfo=info)


def jpeg_with_comment(comment: bytes) -> bytes:
    return encoded(picture(), "JPEG", quality=90, comment=comment)


def gif_with_comment(comment: bytes) -> bytes:
    return encoded(picture().convert("P"), "GIF", comment=comment)


SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(1)</script><rect width="10" height="10"/></svg>')
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00" + bytes(200)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(50) + b"This program cannot be run in DOS mode."


JPEG_WITH_ZIP = PLAIN_JPEG + zip_of("x.html", SCRIPT)


def _kept(label: str, filename: str, content: bytes, stored_type: str) -> Upload:
    return Upload(label, filename, content, stored_type=stored_type, kept_name=filename)


def _refused(label: str, filename: str, content: bytes, message: str) -> Upload:
    return Upload(label, filename, content, refused=message)


def _name_kept(label: str, filename: str, kept_name: str | None = "") -> Upload:
    return Upload(label, filename, PLAIN_PNG, stored_type="image/png", about_the_name=True,
                  kept_name=filename if kept_name == "" else kept_name)


def _name_refused(label: str, filename: str) -> Upload:
    return Upload(label, filename, PLAIN_PNG, refused=BAD_NAME, about_the_name=True)


LONG_NAME = "营业执照副本" + "a" * 300 + ".png"  # 300+ characters
MULTIBYTE_NAME = "证" * 83 + ".png"  # 253 bytes of UTF-8: the most a file system allows is 255
EMOJI_NAME = "📄" * 63 + ".png"  # 256 bytes, four to a character

CORPUS: tuple[Upload, ...] = (
    # --- the control: a plain file is kept
    _kept("plain PNG", "licence.png", PLAIN_PNG, "image/png"),
    # --- a wrong extension: the content decides, never the name
    _kept("PNG named .exe", "licence.exe", PLAIN_PNG, "image/png"),
    _kept("PNG named .pdf", "licence.pdf", PLAIN_PNG, "image/png"),
    _kept("PNG without an extension", "licence", PLAIN_PNG, "image/png"),
    _kept("JPEG named .png", "photo.png", PLAIN_JPEG, "image/jpeg"),
    _kept("BMP named .jpg", "scan.jpg", PLAIN_BMP, "image/png"),
    # --- not an image under an image's name
    _refused("text named .jpg", "licence.jpg", "营业执照 (not an image)\n".encode() * 20, NOT_ACCEPTED),
    _refused("PDF named .png", "licence.png", PDF, NOT_ACCEPTED),
    _refused("ELF named .jpg", "licence.jpg", ELF, NOT_ACCEPTED),
    _refused("EXE named .png", "licence.png", EXE, NOT_ACCEPTED),
    _refused("random bytes named .jpg", "licence.jpg", random.Random(7).randbytes(4096), NOT_ACCEPTED),
    _refused("empty file", "licence.png", b"", EMPTY),
    _refused("HTML named .jpg", "licence.jpg", SCRIPT, NOT_ACCEPTED),
    _refused("SVG with a script named .png", "licence.png", SVG, NOT_ACCEPTED),
    _refused("GIF with a script comment", "licence.gif", gif_with_comment(SCRIPT), NOT_ACCEPTED),
    _refused("ZIP named .jpg", "licence.jpg", zip_of("licence.html", SCRIPT), NOT_ACCEPTED),
    # --- cut short
    _refused("JPEG cut in half", "photo.jpg", PLAIN_JPEG[: len(PLAIN_JPEG) // 2], NOT_READABLE),
    _refused("PNG cut in half", "licence.png", PLAIN_PNG[: len(PLAIN_PNG) // 2], NOT_READABLE),
    _refused("PNG signature only", "licence.png", PLAIN_PNG[:8], NOT_READABLE),
    # --- decompression bombs: refused from the header
    _refused("PNG declaring 30000 x 30000", "licence.png", png_declaring(30_000, 30_000), TOO_MANY_PIXELS),
    _refused("PNG declaring 6000 x 5000", "licence.png", png_declaring(6_000, 5_000), TOO_MANY_PIXELS),
    _refused("PNG declaring 25000 x 1", "licence.png", png_declaring(25_000, 1), TOO_LONG),
    _refused("JPEG declaring 30000 x 30000", "photo.jpg", jpeg_declaring(30_000, 30_000), TOO_MANY_PIXELS),
    _refused("BMP declaring 40000 x 40000", "scan.bmp", bmp_declaring(40_000, 40_000), TOO_MANY_PIXELS),
    _refused("PNG with a text chunk inflating to 64 MB", "licence.png", png_with_inflating_text(), NOT_READABLE),
    # --- polyglots: an image that is also a ZIP or HTML is kept only re-encoded
    _kept("JPEG with a ZIP appended", "photo.jpg", JPEG_WITH_ZIP, "image/jpeg"),
    _kept("PNG with a ZIP appended", "licence.png", PLAIN_PNG + zip_of("x.html", SCRIPT), "image/png"),
    _kept("PNG with HTML appended", "licence.png", PLAIN_PNG + SCRIPT, "image/png"),
    _kept("BMP with HTML appended", "scan.bmp", PLAIN_BMP + SCRIPT, "image/png"),
    _kept("PNG with HTML in its text chunks", "licence.png", png_with_text_chunk(SCRIPT.decode()), "image/png"),
    _kept("JPEG with HTML in its comment", "photo.jpg", jpeg_with_comment(SCRIPT), "image/jpeg"),
    # --- oversize (the request's own limit, MAX_CONTENT_LENGTH, is tested apart)
    _refused("PNG over 1.5 MB", "licence.png", noise_png(), TOO_LARGE),
    # --- names: only the file's own name is kept, never a folder; unsafe characters are refused
    _name_kept("name climbing up folders", "../../etc/passwd.jpg", "passwd.jpg"),
    # Werkzeug reads a backslash in the quoted name as an escape: the name arrives without them.
    _name_kept("Windows name climbing up folders", "..\\..\\x.jpg", "....x.jpg"),
    _name_kept("Windows path with a user's folder", "C:\\Users\\张伟\\Desktop\\营业执照.png",
               "C:Users张伟Desktop营业执照.png"),
    _name_kept("absolute name", "/abs/x.jpg", "x.jpg"),
    _name_kept("name that is only folders", "../../", None),
    _name_kept("name with markup", "<img src=x onerror=alert(1)>.png"),
    _name_kept("name of 300+ characters", LONG_NAME, "…" + LONG_NAME[-119:]),
    _name_kept("name of 253 bytes of Chinese", MULTIBYTE_NAME),
    _name_kept("name of 256 bytes of emoji", EMOJI_NAME),
    _name_refused("name with a NUL", "licence\x00.png"),
    _name_refused("name with a bell", "licence\x07.png"),
    _name_refused("name with an escape sequence", "licence\x1b[31m.png"),
    _name_refused("name with DEL", "licence\x7f.png"),
    _name_refused("name with a C1 control", "licence\x85.png"),
    _name_refused("name with a tab", "licence\t.png"),
    _name_refused("name with a right-to-left override", "licence\u202egnp.exe"),
    _name_refused("name with a bidi isolate", "licence\u2067.png"),
    _name_refused("name with a zero-width space", "licence\u200b.png"),
    _name_refused("name with a byte-order mark", "\ufefflicence.png"),
)
