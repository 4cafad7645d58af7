"""The e-invoice PDF: its text, extracted with pdftotext, its embedded CJK font and its QR code."""
from __future__ import annotations

import dataclasses
import re
import subprocess
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import segno
from PIL import Image

from billing.invoice_pdf import InvoiceData, InvoiceItem, Party, invoice_text, minimal_pdf, money, render_invoice
from reports.pdf import ForbiddenUrlError, get_renderer

BUYER = Party("北京星河科技有限公司", "91110108MA01XH8K2P", "北京市海淀区中关村大街 1 号 010-62345678",
              "招商银行北京分行 110912345610201")
SELLER = Party("示例数字认证股份有限公司", "91110000MA00CA0001", "北京市海淀区知春路 1 号 010-88886666",
               "中国工商银行北京海淀支行 0200001234567890123")


def make_invoice(**changes) -> InvoiceData:
    items = [
        InvoiceItem("*信息技术服务*数字证书服务费", "RSA2048", "套", 1, 30000, 30000, Decimal("0.06"), 1800),
        InvoiceItem("*信息技术服务*USB Key 介质费", "UK-3", "个", 2, 5000, 10000, Decimal("0.06"), 600),
    ]
    invoice = InvoiceData(number="25110000000000000042", issued_at=datetime(2025, 3, 1, 20, 30, tzinfo=UTC),
                          buyer=BUYER, seller=SELLER, items=items, amount_cents=40000, tax_cents=2400,
                          total_cents=42400, verify_url="https://inv-veri.example.cn/verify?n=42",
                          remarks="订单号 A00000042", drawer="财务")
    return dataclasses.replace(invoice, **changes)


def pdf_text(pdf: bytes) -> str:
    result = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return result.stdout.decode()


@pytest.fixture(scope="module")
def renderer():
    return get_renderer()


@pytest.fixture(scope="module")
def invoice_pdf(renderer) -> bytes:
    return render_invoice(make_invoice(), renderer)


def test_invoice_text(invoice_pdf):
    text = pdf_text(invoice_pdf)
    for expected in ("电子发票（普通发票）", "发票号码：25110000000000000042", "开票日期：2025年03月02日",
                     "北京星河科技有限公司", "91110108MA01XH8K2P", "示例数字认证股份有限公司", "91110000MA00CA0001",
                     "数字证书服务费", "300.00", "6%", "18.00", "¥400.00", "¥24.00", "肆佰贰拾肆元整", "¥424.00",
                     "订单号 A00000042"):
        assert expected in text, expected
    assert "销项负数" not in text
    assert "-" + "424.00" not in text


def test_cjk_font_embedded(invoice_pdf):
    fonts = subprocess.run(["pdffonts", "-"], input=invoice_pdf, capture_output=True, check=True).stdout.decode()
    rows = [line for line in fonts.splitlines() if "WenQuanYi" in line]
    assert rows and all(" yes yes yes " in row for row in rows), fonts


def test_one_page(invoice_pdf):
    info = subprocess.run(["pdfinfo", "-"], input=invoice_pdf, capture_output=True, check=True).stdout.decode()
    assert re.search(r"^Pages:\s+1$", info, re.M), info


def test_red_invoice_shows_negative_amounts(renderer):
    red = make_invoice(number="25110000000000000043", red=True, original_number="25110000000000000042")
    text = pdf_text(render_invoice(red, renderer))
    for expected in ("销项负数", "25110000000000000042", "-300.00", "-18.00", "¥-400.00", "¥-24.00", "负肆佰贰拾肆元整",
                     "¥-424.00"):
        assert expected in text, expected


def test_buyer_text_is_escaped(renderer):
    text = pdf_text(render_invoice(make_invoice(buyer=dataclasses.replace(BUYER, name='<img src="file:///etc/passwd">')),
                                   renderer))
    assert '<img src="file:///etc/passwd">' in text


@pytest.mark.parametrize(("changes", "message"), [
    ({"issued_at": datetime(2025, 3, 1)}, "aware"),
    ({"red": True}, "original_number"),
    ({"total_cents": 1}, "amount plus tax"),
])
def test_invalid_invoice_data(changes, message):
    with pytest.raises(ValueError, match=message):
        make_invoice(**changes)


@pytest.mark.parametrize("changes", [{}, {"red": True, "original_number": "25110000000000000041"}], ids=["blue", "red"])
def test_invoice_text_is_what_the_pdf_shows(renderer, changes):
    """The benchmark's baseline prints invoice_text: it must be the invoice's characters, no more, no fewer."""
    invoice = make_invoice(**changes)
    shown = Counter("".join(pdf_text(render_invoice(invoice, renderer)).split()))
    assert shown == Counter("".join(invoice_text(invoice).split()))


def test_qr_code_is_the_verification_url(invoice_pdf, tmp_path):
    """The QR code is one embedded image, a pixel per module: exactly segno's symbol for verify_url."""
    (tmp_path / "invoice.pdf").write_bytes(invoice_pdf)
    subprocess.run(["pdfimages", "-png", str(tmp_path / "invoice.pdf"), str(tmp_path / "image")], check=True)
    images = sorted(tmp_path.glob("image-*.png"))
    assert len(images) == 1, images
    with Image.open(images[0]) as image:
        grey = image.convert("L")
    modules = segno.make("https://inv-veri.example.cn/verify?n=42", error="m").matrix
    assert grey.size == (len(modules), len(modules))
    dark = [[grey.getpixel((x, y)) < 128 for x in range(grey.width)] for y in range(grey.height)]
    assert dark == [[bool(module) for module in row] for row in modules]


def test_minimal_pdf_has_the_same_text(renderer):
    invoice = make_invoice()
    text = invoice_text(invoice)
    assert "肆佰贰拾肆元整" in text and "电子发票（普通发票）" in text
    flat = "".join(pdf_text(minimal_pdf(text, renderer)).split())
    assert flat == "".join(text.split())


@pytest.mark.parametrize(("cents", "shown"), [(0, "0.00"), (5, "0.05"), (31800, "318.00"), (-42400, "-424.00")])
def test_money(cents, shown):
    assert money(cents) == shown


def test_fetcher_is_the_locked_down_one(renderer):
    with pytest.raises(ForbiddenUrlError):
        renderer.render('<img src="http://example.com/x.png">')
