"""What the downloads of the dashboard and the charted reports share: the formats offered and how a
download is named by the range it covers."""
from __future__ import annotations

from flask import Response

from reports.dashboard import ReportFilter
from web.downloads import TABLE_TYPES, private_download

EXPORTS = tuple(TABLE_TYPES)  # csv, xlsx, pdf


def attachment(body: bytes, fmt: str, stem: str, filters: ReportFilter) -> Response:
    """A download named by what it holds and the range it covers, never cached."""
    return private_download(body, f"{stem}-{filters.first:%Y%m%d}-{filters.last:%Y%m%d}.{fmt}", TABLE_TYPES[fmt])
