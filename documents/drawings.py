"""Drawn stand-ins for the five materials, laid out like the real documents with their headings
and fields filled with made-up values (示例科技有限公司, 张三, numbers that are no one's). The
demo applications upload them and the materials page shows them marked as samples; none of them
is a real document, so nothing real can leak through a demo or a sample."""
from __future__ import annotations

import functools
import math

from PIL import Image, ImageDraw, ImageFont

from models import MaterialKind

LOOKS = {  # size in pixels at scale 1 and paper colour, roughly in the document's proportions
    MaterialKind.BUSINESS_LICENCE: ((420, 300), (250, 244, 230)),
    MaterialKind.AGENT_ID_FRONT: ((342, 216), (224, 236, 246)),
    MaterialKind.AGENT_ID_BACK: ((342, 216), (236, 242, 250)),
    MaterialKind.ESEAL_SAMPLE_FORM: ((300, 420), (255, 255, 255)),
    MaterialKind.AUTHORISATION_LETTER: ((300, 420), (252, 252, 246)),
    MaterialKind.PAYMENT_PROOF: ((400, 260), (246, 250, 246)),
}
SEAL_RED = (205, 30, 35)
INK = (40, 40, 50)
FADED = (95, 95, 105)
# Debian's fonts-wqy-zenhei (a run dependency for the PDFs too), else Noto CJK.
CJK_FONTS = ("wqy-zenhei.ttc", "NotoSansCJK-Regular.ttc")
ORGANISATION = "示例科技有限公司"


@functools.cache
def font(size: int) -> ImageFont.FreeTypeFont:
    for name in CJK_FONTS:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    raise OSError(f"no CJK font to draw documents; install one of {', '.join(CJK_FONTS)}")


class _Page:
    """Drawing on a document at a scale: coordinates and sizes are given at scale 1."""

    def __init__(self, kind: MaterialKind, scale: int, shift: int) -> None:
        (w, h), paper = LOOKS[kind]
        self.scale, self.shift, self.w, self.h = scale, shift, w, h
        self.image = Image.new("RGB", (w * scale, h * scale), paper)
        self.pen = ImageDraw.Draw(self.image)

    def _at(self, *values: float) -> list[int]:
        return [round(v * self.scale) for v in values]

    def text(self, x: float, y: float, words: str, size: int, fill=INK, anchor: str = "la") -> None:
        self.pen.text(self._at(x, y + self.shift), words, font=font(size * self.scale), fill=fill, anchor=anchor)

    def fields(self, x: float, y: float, rows: list[tuple[str, str]], size: int, gap: float,
               label_width: float) -> None:
        for row, (label, value) in enumerate(rows):
            self.text(x, y + row * gap, label, size, FADED)
            self.text(x + label_width, y + row * gap, value, size)

    def box(self, x0: float, y0: float, x1: float, y1: float, width: int = 1, fill=None, outline=INK) -> None:
        self.pen.rectangle(self._at(x0, y0 + self.shift, x1, y1 + self.shift), fill=fill, outline=outline,
                           width=max(1, width * self.scale))

    def frame(self) -> None:
        self.pen.rectangle(self._at(5, 5, self.w - 6, self.h - 6), outline=(120, 110, 100), width=3 * self.scale)

    def seal(self, cx: float, cy: float, r: float = 34) -> None:
        """An organisation's round seal: a ring, the star, its name along the top."""
        x, y, radius = self._at(cx, cy + self.shift, r)
        self.pen.ellipse((x - radius, y - radius, x + radius, y + radius), outline=SEAL_RED, width=4 * self.scale)
        self.pen.regular_polygon((x, y, radius * 0.32), 5, fill=SEAL_RED)
        letters, size = ORGANISATION, font(round(r * 0.26) * self.scale)
        for i, letter in enumerate(letters):  # along the top of the ring, as on a real seal
            angle = math.radians(150 + 240 * i / (len(letters) - 1))
            self.pen.text((x + radius * 0.7 * math.cos(angle), y + radius * 0.7 * math.sin(angle)), letter,
                          font=size, fill=SEAL_RED, anchor="mm")

    def emblem(self, cx: float, cy: float, r: float) -> None:
        x, y, radius = self._at(cx, cy + self.shift, r)
        self.pen.ellipse((x - radius, y - radius, x + radius, y + radius), outline=SEAL_RED, width=3 * self.scale)
        self.pen.regular_polygon((x, y, radius * 0.55), 5, fill=SEAL_RED)

    def signature(self, x: float, y: float) -> None:
        points = [(x, y), (x + 12, y - 8), (x + 20, y + 4), (x + 34, y - 10), (x + 46, y + 2), (x + 60, y - 4)]
        self.pen.line([tuple(self._at(px, py + self.shift)) for px, py in points], fill=INK, width=2 * self.scale)


def draw(kind: MaterialKind, variant: int = 0, *, scale: int = 1) -> Image.Image:
    """The document as an RGB picture; `variant` (0 or 1) moves its text and seal a little;
    `scale` draws it larger (sharp, not enlarged)."""
    page = _Page(kind, scale, shift=4 * variant)
    page.frame()
    _CONTENT[kind](page, variant)
    return page.image


def _business_licence(page: _Page, variant: int) -> None:
    page.text(page.w / 2, 20, "营业执照", 28, SEAL_RED, anchor="ma")
    page.fields(30, 70, [("统一社会信用代码", "91110108MA00SAMPLE"), ("名　　称", ORGANISATION),
                         ("类　　型", "有限责任公司"), ("法定代表人", "张三"), ("经营范围", "技术开发、技术服务"),
                         ("成立日期", "2018年05月08日"), ("住　　所", "北京市海淀区示例路1号")],
                size=11, gap=24, label_width=100)
    page.seal(page.w - 78 - 16 * variant, page.h - 62)


def _id_front(page: _Page, variant: int) -> None:
    page.fields(20, 24, [("姓名", "张三"), ("性别", "男　　民族　汉"), ("出生", "1990年1月1日"),
                         ("住址", "北京市海淀区示例路1号")], size=11, gap=26, label_width=40)
    page.fields(20, 170, [("公民身份号码", "110108199001010000")], size=12, gap=0, label_width=86)
    page.box(page.w - 110, 24, page.w - 24, 140, fill=(190, 196, 206), outline=(160, 166, 176))


def _id_back(page: _Page, variant: int) -> None:
    page.emblem(56, 62, 30)
    page.text(112, 40, "中华人民共和国", 16)
    page.text(112, 68, "居民身份证", 26)
    page.fields(40, 150, [("签发机关", "北京市公安局海淀分局"), ("有效期限", "2015.01.01-2035.01.01")],
                size=11, gap=24, label_width=64)


def _eseal_sample_form(page: _Page, variant: int) -> None:
    page.text(page.w / 2, 22, "单位电子签章采样表", 17, anchor="ma")
    page.fields(24, 62, [("单位名称", ORGANISATION), ("信用代码", "91110108MA00SAMPLE"), ("经办人", "李四")],
                size=10, gap=22, label_width=64)
    page.text(24, 138, "单位公章印模", 10, FADED)
    page.box(24, 154, page.w - 24, 254)
    page.seal(page.w / 2 + 12 * variant, 204)
    page.text(24, 266, "法定代表人签章", 10, FADED)
    page.box(24, 282, page.w - 24, 352)
    page.signature(page.w / 2 - 30, 318)
    page.text(page.w - 24, 372, "2026年 月 日", 10, anchor="ra")


def _authorisation_letter(page: _Page, variant: int) -> None:
    page.text(page.w / 2, 22, "法定代表人授权书", 17, anchor="ma")
    letter = ["兹授权李四（居民身份证", "110108199202020000）为我单位", "经办人，代表我单位向CA申请",
              "办理数字证书相关事宜。", "授权期限：自签署之日起一年。"]
    for row, words in enumerate(letter):
        page.text(28 if row else 48, 66 + row * 26, words, 12)
    page.text(28, 228, "法定代表人（签字）：", 11, FADED)
    page.signature(150, 236)
    page.text(28, 268, "单位（盖章）：", 11, FADED)
    page.seal(page.w - 86 - 10 * variant, 312)
    page.text(page.w - 24, 380, "2026年 月 日", 11, anchor="ra")


def _payment_proof(page: _Page, variant: int) -> None:
    page.text(page.w / 2, 18, "网上银行电子回单", 18, anchor="ma")
    page.fields(24, 56, [("付款人", ORGANISATION), ("付款账号", "1100 **** **** 0000"),
                         ("收款人", "数字认证服务有限公司"), ("金　　额", "¥300.00"),
                         ("用　　途", "证书补办"), ("流 水 号", f"2026120600{3 + variant}18")],
                size=11, gap=26, label_width=70)
    page.seal(page.w - 70, page.h - 56, r=30)


_CONTENT = {
    MaterialKind.BUSINESS_LICENCE: _business_licence,
    MaterialKind.AGENT_ID_FRONT: _id_front,
    MaterialKind.AGENT_ID_BACK: _id_back,
    MaterialKind.ESEAL_SAMPLE_FORM: _eseal_sample_form,
    MaterialKind.AUTHORISATION_LETTER: _authorisation_letter,
    MaterialKind.PAYMENT_PROOF: _payment_proof,
}
