"""Files handed to one person: attachments no browser or proxy keeps."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response

# What the consoles' tables download as (reports.exports and reports.pdf write them); the CSV's
# charset=utf-8 is added by Response, as to every text/* mimetype.
TABLE_TYPES = {"csv": "text/csv",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "pdf": "application/pdf"}


def private_download(content: bytes, filename: str, mimetype: str, *, ascii_name: str | None = None) -> Response:
    """`content` as an attachment named `filename`, never cached (an invoice prints the buyer's
    bank account, a form the agent's ID number). A name that is not ASCII goes as `filename*`,
    with `ascii_name` for clients that cannot read it."""
    response = Response(content, mimetype=mimetype)
    disposition = f'attachment; filename="{ascii_name or filename}"'
    if ascii_name is not None:
        disposition += f"; filename*=UTF-8''{quote(filename)}"
    response.headers["Content-Disposition"] = disposition
    response.headers["Cache-Control"] = "private, no-store"
    return response
