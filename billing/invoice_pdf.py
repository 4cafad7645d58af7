"""The e-invoice (电子发票) as a PDF, rendered with the one PDF helper.

Amounts are integer cents and always given as magnitudes: a red (credit) invoice carries the
same figures as the invoice it reverses and `red=True`, and the rendering prints them negative
with the 销项负数 mark and the original invoice's number.

The Jinja environment is plain (not Flask's), so a worker renders without an app context.
"""
from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import segno
from jinja2 import Environment, FileSystemLoader
from PIL import Image

from billing.capital import capital_amount, money
from models.business_time import BUSINESS_TZ
from reports.pdf import PdfRenderer

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# What an invoice costs WeasyPrint on top of its text is mostly work per box and per line of
# text (style, Pango layout, PDF text object: about 0.2-0.4 ms each), so the layout keeps both
# few. Styling is by class only: elements with the same classes under the same parent share one
# computed style. Multi-line text is one element with `white-space: pre-line`, never <br> (each
# <br> is an element with a ::before box). Tables use the fixed layout with declared widths, so
# WeasyPrint never measures the min/max-content width of each cell's text; rules are separate
# borders drawn only where the 数电票 has them (none between the item columns).
INVOICE_CSS = """
.qr { float: left; width: 22mm; height: 22mm; margin-bottom: 3mm; image-rendering: pixelated; }
.meta { float: right; width: 62mm; margin: 4mm 0 0; line-height: 1.6; white-space: pre-line; }
h1 { font-size: 16pt; font-weight: normal; color: #8b4513; margin: 4mm 62mm 0 22mm; text-align: center; }
.red-mark { color: #c00; margin: 1mm 62mm 0 22mm; text-align: center; }
table { clear: both; width: 100%; table-layout: fixed; border-spacing: 0;
        border: 0.6pt solid #8b4513; border-top: none; }
.parties { border-top: 0.6pt solid #8b4513; margin-top: 5mm; }
th, td { padding: 1.2mm; vertical-align: top; font-weight: normal; }
.parties th, .remarks th { width: 1em; border-right: 0.6pt solid #8b4513; }
.parties td + th { border-left: 0.6pt solid #8b4513; }
.parties td { line-height: 1.6; white-space: pre-line; }
.items th { padding-bottom: 0.4mm; text-align: center; box-sizing: border-box; }
.items td { padding-top: 0.4mm; padding-bottom: 0.4mm; }
.name { width: 30%; } .spec { width: 10%; } .unit { width: 6%; } .qty { width: 7%; }
.price { width: 10%; } .amount { width: 12%; } .rate { width: 13%; } .tax { width: 12%; }
.num { text-align: right; }
.sum td { padding-top: 2mm; }
.total td { border-top: 0.6pt solid #8b4513; padding: 1.2mm; }
.remarks td, .remarks th { height: 14mm; }
.foot { margin: 2mm 0 0; }
"""

_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)


@dataclass(frozen=True)
class InvoiceItem:
    name: str
    spec: str
    unit: str
    quantity: Decimal | int
    unit_price_cents: int
    amount_cents: int
    tax_rate: Decimal
    tax_cents: int


@dataclass(frozen=True)
class Party:
    """Buyer or seller. For the buyer, `name` is the invoice title: the organisation's registered name, or
    the person's name (a personal certificate's holder, who has no taxpayer ID: "")."""

    name: str
    taxpayer_id: str
    address_phone: str = ""
    bank_account: str = ""


@dataclass(frozen=True)
class InvoiceData:
    number: str
    issued_at: datetime
    buyer: Party
    seller: Party
    items: list[InvoiceItem]
    amount_cents: int
    tax_cents: int
    total_cents: int
    verify_url: str
    red: bool = False
    original_number: str | None = None
    remarks: str = ""
    drawer: str = ""

    def __post_init__(self) -> None:
        if self.issued_at.tzinfo is None:
            raise ValueError("issued_at must be an aware datetime")
        if self.red and not self.original_number:
            raise ValueError("a red invoice names the invoice it reverses (original_number)")
        if self.amount_cents + self.tax_cents != self.total_cents:
            raise ValueError("total must be amount plus tax")
        if min(self.amount_cents, self.tax_cents) < 0:
            raise ValueError("amounts are magnitudes; a red invoice is marked with red=True")


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def _quantity(value: Decimal | int) -> str:
    return f"{Decimal(value).normalize():f}"


# Module value 0/1 (light/dark) to an 8-bit grey level: black on white.
_GREY = bytes([255, 0]) + bytes(254)


def _qr_png_uri(text: str) -> str:
    """The QR code for `text` as a data URI of an 8-bit greyscale PNG, one pixel per module.

    One small raster image costs WeasyPrint a fraction of an SVG with a path segment per dark
    module (7.5 ms vs 2 ms), and greyscale goes into the PDF as is where a 1-bit PNG is first
    converted to RGB. The template scales it with `image-rendering: pixelated`, so the modules
    stay sharp. segno still picks the best of the eight masks, as the QR standard requires.
    """
    matrix = segno.make(text, error="m").matrix
    size = len(matrix)
    pixels = b"".join(bytes(row).translate(_GREY) for row in matrix)
    buffer = io.BytesIO()
    Image.frombytes("L", (size, size), pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _invoice_html(data: InvoiceData) -> str:
    sign = -1 if data.red else 1
    qr_uri = _qr_png_uri(data.verify_url)
    return _env.get_template("pdf/invoice.html").render(
        data=data, sign=sign, qr_uri=qr_uri, money=money, percent=_percent, quantity=_quantity,
        issued_on=data.issued_at.astimezone(BUSINESS_TZ).strftime("%Y年%m月%d日"),
        capital=capital_amount(sign * data.total_cents),
    )


def render_invoice(data: InvoiceData, renderer: PdfRenderer) -> bytes:
    """The invoice as PDF bytes (A4, CJK font embedded)."""
    return renderer.render(_invoice_html(data), stylesheet=INVOICE_CSS)


class _TextCollector(HTMLParser):
    """Collects the text printed on the page (not the document <title>)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs) -> None:
        self._in_title = self._in_title or tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = self._in_title and tag != "title"

    def handle_data(self, data: str) -> None:
        if not self._in_title:
            self.parts.append(data)


def invoice_text(data: InvoiceData) -> str:
    """The invoice's text content (the same characters, whitespace collapsed), for the benchmark baseline."""
    collector = _TextCollector()
    collector.feed(_invoice_html(data))
    collector.close()
    return re.sub(r"\s+", " ", "".join(collector.parts)).strip()


def minimal_pdf(text: str, renderer: PdfRenderer) -> bytes:
    """`text` as one unstyled paragraph with the renderer's fonts: the baseline an invoice is compared with."""
    return renderer.render(f"<p>{html.escape(text)}</p>")
