"""The two forms an applicant prints, signs, seals and uploads (单位电子签章采样表 and 法定代表人授权书),
as A4 PDFs filled in with the order's organisation, legal representative and agent.

They are Chinese documents addressed to the CA, so they carry its Chinese name whatever the
language of the page they are downloaded from.
"""
from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale

from models import MaterialKind, Order
from reports.pdf import get_renderer
from web.labels import label

TEMPLATES = {
    MaterialKind.ESEAL_SAMPLE_FORM: "pdf/eseal-sample-form.html",
    MaterialKind.AUTHORISATION_LETTER: "pdf/authorisation-letter.html",
}
FILE_NAMES = {
    MaterialKind.ESEAL_SAMPLE_FORM: "单位电子签章采样表",
    MaterialKind.AUTHORISATION_LETTER: "法定代表人授权书",
}
FORMS_CSS = """
@page { margin: 20mm 22mm; }
html { font-size: 12pt; line-height: 1.7; }
.issuer { text-align: center; margin: 0; font-size: 11pt; color: #444; }
h1 { text-align: center; font-size: 20pt; letter-spacing: 2pt; margin: 2mm 0 8mm; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; margin-bottom: 6mm; }
th, td { border: 0.6pt solid #000; padding: 2mm 3mm; text-align: left; vertical-align: middle; }
.fields th { width: 38mm; font-weight: normal; }
.seals th { text-align: center; font-weight: normal; }
.seals td { height: 62mm; }
.notes { font-size: 10.5pt; padding-left: 5mm; margin: 0 0 10mm; }
.to { margin: 0 0 3mm; }
.body { text-indent: 2em; margin: 0 0 3mm; }
.body u { text-decoration: none; border-bottom: 0.6pt solid #000; padding: 0 1mm; }
.sign { margin: 7mm 0 0 60mm; }
.blank { display: inline-block; width: 45mm; border-bottom: 0.6pt solid #000; }
.date { display: inline-block; width: 16mm; text-align: right; }
.foot { position: absolute; bottom: 0; left: 0; right: 0; text-align: center; font-size: 9pt; color: #666; }
"""


def printable(kind: MaterialKind) -> bool:
    return kind in TEMPLATES


def render_form(kind: MaterialKind, order: Order) -> bytes:
    """The form for `order` as PDF bytes (A4, CJK font embedded)."""
    config = current_app.config
    with force_locale("zh_CN"):
        agent_id_type = label(order.agent.id_type)
    html = render_template(TEMPLATES[kind], order=order, agent=order.agent, agent_id_type=agent_id_type,
                           ca_name=config["CA_NAME"], ca_phone=config["CA_SERVICE_PHONE"])
    return get_renderer().render(html, stylesheet=FORMS_CSS)

