"""Documents: the materials applicants upload (checking, the ones in force), the encrypted store
that keeps them and the invoice PDFs, what they look like (the drawn stand-ins), and the regions
of their addresses; below the areas that show or take them."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the document store with the service registry (STORAGE_BACKEND chooses)."""
    from documents import storage_backends, uncommitted  # noqa: F401  (uncommitted: its session hooks)

    storage_backends.register(app)
