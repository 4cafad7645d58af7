"""Help with the materials: the sample picture of each one, and the forms to print filled in
with the applicant's own order."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response, abort

from models import MaterialKind
from public import printables, samples
from public.views import owned_order
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
    response = Response(printables.render_form(material, order), mimetype="application/pdf")
    # The Chinese file name, and an ASCII one for clients that cannot read it.
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{material.value}-{order.number}.pdf\"; "
        f"filename*=UTF-8''{quote(printables.FILE_NAMES[material])}-{order.number}.pdf")
    # It prints the agent's ID number: for this browser only.
    response.headers["Cache-Control"] = "private, no-store"
    return response
