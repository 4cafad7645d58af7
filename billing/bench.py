"""The invoice PDF against WeasyPrint's floor for the same text (`flask --app wsgi bench invoice`).

Each round renders a fresh invoice (new number, buyer, amounts; nothing cached but the warm
renderer) and, interleaved, a minimal one-page PDF of the same characters with the same fonts
and no layout. The ratio of the medians shows what the invoice's layout costs on top.
"""
from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from billing.invoice_pdf import InvoiceData, InvoiceItem, Party, invoice_text, minimal_pdf, render_invoice
from reports.pdf import get_renderer

# The goal the owner settled on: a faithful 数电票 layout bottoms out near 2.0-2.1 with WeasyPrint.
GOAL = 2.5
WARM_UP = 5
SELLER = Party("示例数字认证股份有限公司", "91110000MA00CA0001", "北京市海淀区知春路 1 号 010-88886666",
               "中国工商银行北京海淀支行 0200001234567890123")
SERVICES = ("数字证书服务费", "数字证书更新服务费", "USB Key 介质费", "证书信息变更服务费")


def sample_invoice(sequence: int, rng: random.Random) -> InvoiceData:
    """A plausible invoice that differs from every other one: number, buyer, items and amounts."""
    items = []
    for line in range(rng.randint(1, 4)):
        quantity = rng.randint(1, 5)
        unit_price = rng.randrange(5_000, 200_000, 100)
        amount = quantity * unit_price
        tax = round(amount * Decimal("0.06"))
        items.append(InvoiceItem(f"*信息技术服务*{SERVICES[line]}", f"型号{rng.randint(1, 9)}", "套", quantity,
                                 unit_price, amount, Decimal("0.06"), tax))
    amount = sum(item.amount_cents for item in items)
    tax = sum(item.tax_cents for item in items)
    city = rng.choice(("北京", "上海", "广州", "成都", "杭州"))
    return InvoiceData(
        number=f"25{sequence:018d}",
        issued_at=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=sequence * 37),
        buyer=Party(f"{city}第{sequence}号科技有限公司", f"91{rng.randrange(10**15):015d}X",
                    f"{city}市{rng.randint(1, 99)}路{rng.randint(1, 999)}号 0{rng.randint(10**9, 10**10 - 1)}",
                    f"招商银行{city}分行 {rng.randrange(10**15):015d}"),
        seller=SELLER, items=items, amount_cents=amount, tax_cents=tax, total_cents=amount + tax,
        verify_url=f"https://inv-veri.example.cn/verify?n=25{sequence:018d}&a={amount + tax}",
        remarks=f"订单号 A{sequence:08d}", drawer="财务",
    )


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


@dataclass(frozen=True)
class InvoiceBench:
    repeat: int
    invoice_ms: float  # median
    minimal_ms: float  # median

    @property
    def ratio(self) -> float:
        return self.invoice_ms / self.minimal_ms


def measure_invoice(repeat: int) -> InvoiceBench:
    """`repeat` fresh invoices and as many minimal PDFs of their text, interleaved, after a
    warm-up (the first renders load Pango's fonts and fill its caches, which a running worker
    has done already)."""
    renderer = get_renderer()
    rng = random.Random(6)
    for _ in range(WARM_UP):
        warm = sample_invoice(0, rng)
        render_invoice(warm, renderer)
        minimal_pdf(invoice_text(warm), renderer)

    invoice_ms, minimal_ms = [], []
    for sequence in range(1, repeat + 1):
        data = sample_invoice(sequence, rng)
        text = invoice_text(data)
        started = time.perf_counter()
        render_invoice(data, renderer)
        invoice_ms.append(_ms(started))
        started = time.perf_counter()
        minimal_pdf(text, renderer)
        minimal_ms.append(_ms(started))
    return InvoiceBench(repeat, statistics.median(invoice_ms), statistics.median(minimal_ms))
