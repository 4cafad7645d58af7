"""Sample pictures of the five materials for the materials page: the drawn documents, drawn larger,
named and stamped 样例 SAMPLE across so nobody takes one for a real document or uploads it.

They never change, so each is drawn once per worker and kept.
"""
from __future__ import annotations

import functools
import io

from PIL import Image, ImageDraw

from documents import drawings
from models import MaterialKind

# Printed on the picture in Chinese, like the documents themselves; the page names them in either language.
CAPTIONS = {
    MaterialKind.BUSINESS_LICENCE: "营业执照复印件（加盖单位公章）",
    MaterialKind.AGENT_ID_FRONT: "经办人身份证人像面（原件）",
    MaterialKind.AGENT_ID_BACK: "经办人身份证国徽面（原件）",
    MaterialKind.ESEAL_SAMPLE_FORM: "单位电子签章采样表（加盖公章）",
    MaterialKind.AUTHORISATION_LETTER: "法定代表人授权书（加盖公章）",
    MaterialKind.PAYMENT_PROOF: "付款凭证（银行转账回单）",
}
MARK = "样例 SAMPLE"
SCALE = 2
_MARK_RED = (205, 30, 35, 110)


@functools.cache
def sample_png(kind: MaterialKind) -> bytes:
    """The sample picture of one material as PNG bytes."""
    document = drawings.draw(kind, scale=SCALE)
    width, height = document.size
    caption_height = 56
    picture = Image.new("RGB", (width, height + caption_height), (255, 255, 255))
    picture.paste(document)
    _stamp(picture, width, height)
    pen = ImageDraw.Draw(picture)
    pen.text((width // 2, height + caption_height // 2), CAPTIONS[kind], font=drawings.font(24), fill=(31, 41, 51),
             anchor="mm")
    out = io.BytesIO()
    picture.save(out, "PNG", optimize=True)
    return out.getvalue()


def _stamp(picture: Image.Image, width: int, height: int) -> None:
    """样例 SAMPLE across the document, translucent so the document still shows through."""
    font = drawings.font(max(width, height) // 9)
    left, top, right, bottom = font.getbbox(MARK)
    layer = Image.new("RGBA", (right - left + 40, bottom - top + 40), (0, 0, 0, 0))
    ImageDraw.Draw(layer).text((20 - left, 20 - top), MARK, font=font, fill=_MARK_RED)
    layer = layer.rotate(25 if width > height else 55, expand=True, resample=Image.Resampling.BICUBIC)
    layer.thumbnail((width, height))
    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    overlay.paste(layer, ((width - layer.width) // 2, (height - layer.height) // 2))
    base = picture.crop((0, 0, width, height)).convert("RGBA")
    picture.paste(Image.alpha_composite(base, overlay).convert("RGB"))
