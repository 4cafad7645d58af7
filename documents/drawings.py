"""Drawn stand-ins for the five materials: a frame, lines standing for text, a photo box or a red
seal. The demo applications upload them and the materials page shows them marked as samples;
none of them is a real document, so nothing real can leak through a demo or a sample."""
from __future__ import annotations

from PIL import Image, ImageDraw

from models import MaterialKind

LOOKS = {  # size in pixels and paper colour, roughly in the document's proportions
    MaterialKind.BUSINESS_LICENCE: ((420, 300), (250, 244, 230)),
    MaterialKind.AGENT_ID_FRONT: ((342, 216), (224, 236, 246)),
    MaterialKind.AGENT_ID_BACK: ((342, 216), (236, 242, 250)),
    MaterialKind.ESEAL_SAMPLE_FORM: ((300, 420), (255, 255, 255)),
    MaterialKind.AUTHORISATION_LETTER: ((300, 420), (252, 252, 246)),
}
SEAL_RED = (205, 30, 35)


def draw(kind: MaterialKind, variant: int = 0) -> Image.Image:
    """The document as an RGB picture; `variant` (0 or 1) moves its lines and seal a little."""
    (w, h), paper = LOOKS[kind]
    image = Image.new("RGB", (w, h), paper)
    pen = ImageDraw.Draw(image)
    pen.rectangle((5, 5, w - 6, h - 6), outline=(120, 110, 100), width=3)
    for row in range(7 - 2 * variant):
        y = 30 + row * 24 + variant * 9
        pen.line((22, y, int(w * (0.55 + 0.05 * (row % 3))), y), fill=(70, 70, 80), width=3)
    if kind == MaterialKind.AGENT_ID_FRONT:
        pen.rectangle((w - 110, 30, w - 25, 140), fill=(190, 196, 206))
    else:
        cx, cy, r = w - 70 - 20 * variant, h - 70, 40
        pen.ellipse((cx - r, cy - r, cx + r, cy + r), outline=SEAL_RED, width=5)
        pen.regular_polygon((cx, cy, 14), 5, fill=SEAL_RED)
    return image
