"""The e-invoice (电子发票) as a PDF, rendered with the one PDF helper.

Amounts are integer cents and always given as magnitudes: a red (credit) invoice carries the
same figures as the invoice it reverses and `red=True`, and the rendering prints them negative
with the 销项负数 mark and the original invoice's number.

The Jinja environment is plain (not Flask's), so a worker renders without an app context.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import segno
from jinja2 import Environment, FileSystemLoader

from billing.capital import capital_amount
from models.order_number import BUSINESS_TZ
from reports.pdf import PdfRenderer

CHINA_TIME = BUSINESS_TZ
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# Fixed table layout with declared column widths and explicit box widths: WeasyPrint then
# never measures the min/max-content width of each cell's text, which tripled the render time.
INVOICE_CSS = """
.head { height: 24mm; }
.head .qr { float: left; width: 22mm; height: 22mm; }
.head .meta { float: right; width: 62mm; margin-top: 4mm; line-height: 1.6; }
.head .title { margin-left: 22mm; margin-right: 62mm; text-align: center; }
.head h1 { font-size: 16pt; font-weight: normal; color: #8b4513; margin: 4mm 0 0; }
.head .red-mark { color: #c00; margin: 1mm 0 0; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; }
td, th { border: 0.6pt solid #8b4513; padding: 1.2mm 1.2mm; vertical-align: top; font-weight: normal; }
.parties td { line-height: 1.6; }
.parties th, .items th { text-align: center; }
.items td.num { text-align: right; }
.items tr.line td { border-top: none; border-bottom: none; }
.remarks td { height: 14mm; }
.foot { margin-top: 2mm; }
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
    """Buyer or seller. For the buyer, `name` is the invoice title: the organisation's registered name."""

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


def money(cents: int) -> str:
    """Cents as yuan with two decimals: 31800 → "318.00", -5 → "-0.05"."""
    sign = "-" if cents < 0 else ""
    yuan, fen = divmod(abs(cents), 100)
    return f"{sign}{yuan}.{fen:02d}"


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def _quantity(value: Decimal | int) -> str:
    return f"{Decimal(value).normalize():f}"


def _invoice_html(data: InvoiceData) -> str:
    sign = -1 if data.red else 1
    qr_uri = segno.make(data.verify_url, error="m").svg_data_uri(border=0)
    return _env.get_template("pdf/invoice.html").render(
        data=data, sign=sign, qr_uri=qr_uri, money=money, percent=_percent, quantity=_quantity,
        issued_on=data.issued_at.astimezone(CHINA_TIME).strftime("%Y年%m月%d日"),
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
