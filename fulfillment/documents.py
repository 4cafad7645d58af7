"""The parcel's paper: shipping labels (one per page, a day's in one PDF for batch printing) and the
daily handover list the courier signs; rendered through the one PDF helper, never stored."""
from __future__ import annotations

import datetime as dt

from flask import render_template

from models import Shipment
from models.business_time import BUSINESS_TZ
from reports.pdf import get_renderer

LABEL_CSS = """
@page { size: 100mm 150mm; margin: 6mm; }
.label { page-break-after: always; font-size: 10pt; }
.label:last-child { page-break-after: auto; }
.courier { font-size: 14pt; font-weight: bold; }
.tracking { font-family: monospace; font-size: 16pt; letter-spacing: 1pt; margin: 2mm 0 4mm; }
h2 { font-size: 9pt; color: #555; margin: 3mm 0 1mm; font-weight: normal; }
.to { font-size: 12pt; }
"""
HANDOVER_CSS = """
table { width: 100%; border-collapse: collapse; font-size: 9pt; }
th, td { border: 0.5pt solid #888; padding: 1.2mm; text-align: left; }
.sign { margin-top: 12mm; }
"""


def labels_pdf(shipments: list[Shipment], sender: dict) -> bytes:
    html = render_template("pdf/shipping-labels.html", shipments=shipments, sender=sender)
    return get_renderer().render(html, LABEL_CSS)


def handover_pdf(day: dt.date, shipments: list[Shipment], sender: dict) -> bytes:
    html = render_template("pdf/handover-list.html", day=day, shipments=shipments, sender=sender, tz=BUSINESS_TZ)
    return get_renderer().render(html, HANDOVER_CSS)
