"""Documents: the materials applicants upload (checking, the ones in force), the encrypted store
that keeps them and the invoice PDFs, what they look like (the drawn stand-ins), and the regions
of their addresses; below the areas that show or take them."""
from __future__ import annotations

from flask import Flask, request
from flask_babel import gettext

from documents.storage import StorageUnavailable
from web.error_pages import PageError, handle


def init_app(app: Flask) -> None:
    """Register the document store with the service registry (STORAGE_BACKEND chooses)."""
    from documents import storage_backends, uncommitted  # noqa: F401  (uncommitted: its session hooks)

    storage_backends.register(app)
    app.register_error_handler(StorageUnavailable, _store_unavailable)


def _store_unavailable(exc: StorageUnavailable):
    """A store that did not answer where no view said what to do (a document shown, an invoice
    downloaded): a 503 that says so, rather than the page of an error of ours. Nothing is kept:
    the request's work is rolled back as for any error answer."""
    if request.method in ("GET", "HEAD"):
        message = gettext("The document cannot be shown just now: the document store does not answer. "
                          "Please try again in a moment.")
    else:
        message = gettext(exc.message)
    return handle(PageError(503, message=message, api_message="the document store is unavailable, try again"))
