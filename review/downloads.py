"""What the downloads of the dashboard and the charted reports share: their content types and how a
download is named and kept out of caches."""
from __future__ import annotations

from flask import Response

from reports.dashboard import ReportFilter

EXPORTS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "pdf": "application/pdf"}


def attachment(body: bytes, fmt: str, stem: str, filters: ReportFilter) -> Response:
    """A download named by what it holds and the range it covers, never cached."""
    response = Response(body, content_type=EXPORTS[fmt])
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{stem}-{filters.first:%Y%m%d}-{filters.last:%Y%m%d}.{fmt}"')
    response.headers["Cache-Control"] = "private, no-store"
    return response
