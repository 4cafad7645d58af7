"""Checking uploaded images (public.materials): what is refused, what is stored, and files kept
only with committed rows. Memory is measured in test_upload_memory.py."""
from __future__ import annotations

import io
import struct
import threading

import pytest
from PIL import Image, ImageFile, JpegImagePlugin, PngImagePlugin

from documents import materials
from documents.materials import InvalidUpload, check_filename, check_image
from tests.conftest import image_bytes

LIMIT = 1536 * 1024
NOT_READABLE = "The file is not a readable image."
TOO_MANY_PIXELS = "The image has too many pixels."


def encoded(image: Image.Image, fmt: str, **save) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def scan(size=(640, 480)) -> Image.Image:
    """A picture with edges in every tile, so a cut-short file loses visible rows."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    for x in range(0, size[0], 37):
        image.paste((200, 30, 30), (x, 0, x + 5, size[1]))
    return image


def bmp_rle8(width: int, height: int) -> bytes:
    """An 8-bit run-length encoded BMP of one colour (Pillow writes no RLE)."""
    row = bytes([255, 1]) * (width // 255) + bytes([width % 255, 1]) + b"\0\0"
    pixels = row * height + b"\0\1"
    palette = b"".join(bytes([i, i, 255 - i, 0]) for i in range(256))
    offset = 14 + 40 + len(palette)
    return (struct.pack("<2sIHHI", b"BM", offset + len(pixels), 0, 0, offset)
            + struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(pixels), 2835, 2835, 256, 0)
            + palette + pixels)


CUT_SHORT = {
    "PNG": encoded(scan(), "PNG"),
    "JPEG": encoded(scan(), "JPEG"),
    "progressive JPEG": encoded(scan(), "JPEG", progressive=True),
    "BMP": encoded(scan(), "BMP"),
    "RLE BMP": bmp_rle8(640, 480),
}


@pytest.mark.parametrize("switch", [False, True])
@pytest.mark.parametrize("kind", CUT_SHORT)
@pytest.mark.parametrize("share", [0.5, 0.9])
def test_a_cut_short_image_is_refused_however_pillow_is_switched(kind, share, switch, monkeypatch):
    """On, Pillow fills in grey where data is missing (WeasyPrint turns it on when it is imported;
    reports.pdf turns it off again, another library might not)."""
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", switch)
    data = CUT_SHORT[kind]
    with pytest.raises(InvalidUpload, match=NOT_READABLE):
        check_image(data[: int(len(data) * share)], LIMIT)


def test_a_png_whose_text_inflates_too_far_is_refused_after_a_pdf_was_rendered_too():
    """WeasyPrint's import turned Pillow's leniency on for good: the same file was refused in a fresh
    worker and kept in one that had rendered a PDF (the text dropped)."""
    from reports.pdf import get_renderer
    from tests.documents.upload_corpus import png_with_inflating_text

    for _ in range(2):
        with pytest.raises(InvalidUpload) as refused:
            check_image(png_with_inflating_text(), LIMIT)
        assert str(refused.value) == NOT_READABLE
        get_renderer().render("<p>发票</p>")


@pytest.mark.parametrize("switch", [False, True])
@pytest.mark.parametrize("kind", CUT_SHORT)
def test_a_whole_image_is_accepted_however_pillow_is_switched(kind, switch, monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", switch)
    assert check_image(CUT_SHORT[kind], LIMIT).width == 640


def test_too_many_pixels_are_refused_from_the_header_without_decoding(monkeypatch):
    """The issue's 6,300 x 6,300 PNG: small as a file, 40 megapixels."""
    data = encoded(Image.new("1", (6300, 6300)), "PNG")
    assert len(data) < LIMIT

    def no_decoding(self):
        raise AssertionError("decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(InvalidUpload, match=TOO_MANY_PIXELS):
        check_image(data, LIMIT)
    with pytest.raises(InvalidUpload, match="too long or too narrow"):
        check_image(encoded(Image.new("1", (20_001, 10)), "PNG"), LIMIT)


def test_the_pixel_limit_is_the_one_passed():
    data = image_bytes("PNG", size=(100, 100))
    assert check_image(data, LIMIT, max_pixels=10_000).width == 100
    with pytest.raises(InvalidUpload, match=TOO_MANY_PIXELS):
        check_image(data, LIMIT, max_pixels=9_999)


@pytest.mark.parametrize("fmt, content_type", [("PNG", "image/png"), ("JPEG", "image/jpeg"),
                                               ("BMP", "image/png")])
def test_the_stored_image_fits_the_long_side_and_keeps_its_shape(fmt, content_type):
    big = 8 * LIMIT  # an uncompressed BMP
    wide = check_image(encoded(scan((1600, 600)), fmt), big, max_side=800)
    assert (wide.content_type, wide.width, wide.height) == (content_type, 800, 300)
    assert Image.open(io.BytesIO(wide.content)).size == (800, 300)
    tall = check_image(encoded(scan((600, 1600)), fmt), big, max_side=800)
    assert (tall.width, tall.height) == (300, 800)
    small = check_image(encoded(scan((300, 200)), fmt), big, max_side=800)
    assert (small.width, small.height) == (300, 200)


def test_a_big_jpeg_is_decoded_reduced_but_not_below_the_stored_size(monkeypatch):
    decoded = []
    load = JpegImagePlugin.JpegImageFile.load

    def noting_load(self):
        decoded.append(self.size)
        return load(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", noting_load)
    checked = check_image(encoded(scan((2000, 500)), "JPEG"), LIMIT, max_side=450)
    # At 1/4 (500 x 125) the stored 450 x 112 still fits, at 1/8 it would not.
    assert set(decoded) == {(500, 125)} and (checked.width, checked.height) == (450, 112)
    decoded.clear()
    check_image(encoded(scan((2000, 500)), "JPEG"), LIMIT, max_side=1500)
    assert set(decoded) == {(2000, 500)}


def test_reducing_tile_by_tile_leaves_no_seams():
    """The new image is drawn in tiles of 512 source pixels; on a smooth picture (where the
    order of Pillow's two passes cannot matter) it equals resizing the whole at once."""
    gradient = Image.linear_gradient("L").resize((1500, 1300)).convert("RGB")
    gradient.putalpha(Image.linear_gradient("L").rotate(90).resize((1500, 1300)))
    checked = check_image(encoded(gradient, "PNG"), LIMIT, max_side=1000)
    whole = gradient.resize((1000, 867), Image.Resampling.LANCZOS)
    stored = Image.open(io.BytesIO(checked.content))
    assert stored.mode == "RGBA"
    difference = [abs(a - b) for a, b in zip(stored.tobytes(), whole.tobytes(), strict=True)]
    assert max(difference) <= 2


def test_metadata_is_dropped_and_the_orientation_applied():
    exif = Image.Exif()
    exif[0x010F] = "SecretCameraMaker"
    exif[0x0112] = 6  # shown rotated by 90 degrees
    jpeg = encoded(scan((80, 40)), "JPEG", exif=exif.tobytes(), comment=b"secret comment")
    checked = check_image(jpeg + b"appended secret", LIMIT)
    assert (checked.width, checked.height) == (40, 80)
    assert b"ecret" not in checked.content
    assert not {"exif", "comment", "icc_profile"} & set(Image.open(io.BytesIO(checked.content)).info)
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "secret note")
    png = check_image(encoded(scan((80, 40)), "PNG", pnginfo=text, icc_profile=b"secret icc"), LIMIT)
    assert not {"Comment", "icc_profile"} & set(Image.open(io.BytesIO(png.content)).info)


@pytest.mark.parametrize("image, fmt, mode", [
    (Image.new("I;16", (20, 10), 40000), "PNG", "L"),
    (Image.new("1", (20, 10), 1), "PNG", "L"),
    (Image.new("LA", (20, 10), (90, 128)), "PNG", "LA"),
    (Image.new("CMYK", (20, 10), (0, 255, 255, 0)), "JPEG", "RGB"),
    (Image.new("L", (20, 10), 90), "JPEG", "L"),
])
def test_modes_are_kept_or_made_storable(image, fmt, mode):
    stored = Image.open(io.BytesIO(check_image(encoded(image, fmt), LIMIT).content))
    assert stored.mode == mode
    if image.mode == "I;16":
        assert stored.getpixel((0, 0)) == 40000 // 256  # 16-bit grey keeps its tone, not white


def test_a_palette_image_with_transparency_keeps_it():
    image = Image.new("P", (20, 10), 1)
    image.putpalette([0, 0, 0, 255, 0, 0])
    stored = Image.open(io.BytesIO(check_image(encoded(image, "PNG", transparency=1), LIMIT).content))
    assert stored.mode == "RGBA" and stored.getpixel((0, 0)) == (255, 0, 0, 0)


@pytest.mark.parametrize("data, message", [
    (b"", "The file is empty. Please choose the scan or photo again."),
    (b"\0" * (LIMIT + 1), "The file is larger than 1.5 MB."),
    (image_bytes("GIF"), "Only JPG, JPEG, PNG and BMP images are accepted."),
    (b"%PDF-1.4 not an image", "Only JPG, JPEG, PNG and BMP images are accepted."),
    (image_bytes("PNG")[:30], NOT_READABLE),
    (b"\xff\xd8\xff\xe0 broken", NOT_READABLE),
])
def test_what_is_not_an_accepted_image_gets_a_message(data, message):
    with pytest.raises(InvalidUpload) as refused:
        check_image(data, LIMIT)
    assert str(refused.value) == message


@pytest.mark.parametrize("name", ["licence\x00.png", "licence\x07.png", "licence\u202egnp.exe",
                                  "licence\u200b.png", "licence\n.png"])
def test_a_file_name_with_control_or_invisible_characters_is_refused(name):
    with pytest.raises(InvalidUpload, match="rename the file"):
        check_filename(name)


def test_a_plain_file_name_is_kept():
    assert check_filename("营业执照 (副本).JPG") == "营业执照 (副本).JPG"


@pytest.mark.parametrize("name, kept", [("../../etc/passwd.jpg", "passwd.jpg"), ("/abs/x.jpg", "x.jpg"),
                                        ("C:\\Users\\张伟\\营业执照.png", "营业执照.png"), ("../../", "")])
def test_only_the_files_own_name_is_kept_not_its_folders(name, kept):
    assert check_filename(name) == kept


def test_a_long_file_name_is_kept_to_the_columns_length_with_its_extension():
    kept = check_filename("营业执照" * 100 + ".png")
    assert len(kept) == 120 and kept.startswith("…") and kept.endswith("营业执照.png")


def test_decodes_at_once_are_bounded(monkeypatch):
    """Two decodes hold the gate; a third caller waits until one of them is done."""
    gate = threading.Event()
    inside, most, lock = [0], [0], threading.Lock()
    entered = threading.Semaphore(0)
    decode = materials._decode

    def held_decode(*args):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        entered.release()
        assert gate.wait(timeout=60)
        with lock:
            inside[0] -= 1
        return decode(*args)

    monkeypatch.setattr(materials, "_decode", held_decode)
    data = image_bytes("PNG")
    results = []
    callers = [threading.Thread(target=lambda: results.append(check_image(data, LIMIT))) for _ in range(4)]
    for caller in callers:
        caller.start()
    try:
        for _ in range(materials.DECODES_AT_ONCE):
            assert entered.acquire(timeout=60)
        assert not materials._decoding.acquire(blocking=False)  # the others are held at the gate
    finally:
        gate.set()
        for caller in callers:
            caller.join(timeout=60)
    assert len(results) == 4 and most[0] == materials.DECODES_AT_ONCE == 2
