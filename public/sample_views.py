"""Help with the materials: the sample picture of each one, and the forms to print filled in
with the applicant's own order."""
from __future__ import annotations

from flask import Response, abort

from models import MaterialKind
from public import printables, samples
from public.views import owned_order
from web.downloads import private_download
from web.extensions import limiter


def _kind(value: str) -> MaterialKind:
    try:
        return MaterialKind(value)
    except ValueError:
        abort(404)


def sample_picture(kind: str):
    response = Response(samples.sample_png(_kind(kind)), mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


# Each download is a fresh rendering: a few hundred milliseconds of the worker's one PDF renderer.
@limiter.limit("20/minute")
def printable_form(number: str, kind: str):
    order = owned_order(number)
    material = _kind(kind)
    if not printables.printable(material):
        abort(404)
    return private_download(printables.render_form(material, order), mimetype="application/pdf",
                            filename=f"{printables.FILE_NAMES[material]}-{order.number}.pdf",
                            ascii_name=f"{material.value}-{order.number}.pdf")
