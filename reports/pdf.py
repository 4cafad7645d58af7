"""The one PDF helper: WeasyPrint with fonts and stylesheets loaded once and a locked-down URL fetcher.

Importing WeasyPrint costs about a second and the first render a few hundred milliseconds, so a
worker keeps one `PdfRenderer` (see `get_renderer`) and reuses it. Documents are rendered from
HTML strings; the only resources they may reference are `data:` URIs (the QR code, for example),
so a template can never read a local file or reach the network.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import ImageFile
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher

# Importing WeasyPrint turns on, for the whole process, Pillow's filling in of broken images
# (weasyprint/images.py). The documents here embed only images the product drew or re-encoded,
# whole; Pillow's default comes back so that an upload is judged alike before and after a worker
# rendered its first PDF (documents.materials: a PNG whose text inflates past Pillow's bound was
# refused in a fresh worker and kept after).
ImageFile.LOAD_TRUNCATED_IMAGES = False

FONT_FAMILY = '"WenQuanYi Zen Hei", "Noto Sans CJK SC", sans-serif'
BASE_CSS = f"""
@page {{ size: A4; margin: 12mm; }}
html {{ font-family: {FONT_FAMILY}; font-size: 10pt; color: #000; }}
"""


class ForbiddenUrlError(ValueError):
    """A document referenced a resource other than a `data:` URI."""


class DataOnlyURLFetcher(URLFetcher):
    """Serves `data:` URIs and refuses everything else (`file://`, `http(s)://`, ...).

    `fail_on_errors` makes WeasyPrint stop the rendering instead of logging a warning and
    leaving the resource out, so a refused URL is never silent.
    """

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("data",), allow_redirects=False, fail_on_errors=True)

    def fetch(self, url, headers=None):
        if not url.lower().startswith("data:"):
            raise ForbiddenUrlError(f"PDF documents may only reference data: URIs, not {url[:100]!r}")
        return super().fetch(url, headers)


@contextmanager
def _refused_urls_raised() -> Iterator[None]:
    """WeasyPrint wraps the fetcher's error in a BaseException; surface ours instead."""
    try:
        yield
    except FatalURLFetchingError as error:
        if isinstance(error.__cause__, ForbiddenUrlError):
            raise error.__cause__ from None
        raise


class PdfRenderer:
    """Renders HTML strings to PDF bytes with one font configuration and compiled stylesheets.

    The base stylesheet (A4, the CJK font) always applies; `render(html, stylesheet=...)` adds a
    document's own stylesheet, compiled on first use and kept for the life of the renderer. Pass
    a module-level constant so the text, and therefore the compiled sheet, stays the same.
    """

    def __init__(self, base_css: str = BASE_CSS) -> None:
        self.url_fetcher = DataOnlyURLFetcher()
        self.font_config = FontConfiguration()
        self._base = self._compile(base_css)
        self._sheets: dict[str, CSS] = {}
        # WeasyPrint does not promise thread safety; threaded workers take turns.
        self._lock = threading.Lock()

    def _compile(self, css: str) -> CSS:
        with _refused_urls_raised():
            return CSS(string=css, font_config=self.font_config, url_fetcher=self.url_fetcher)

    def render(self, html: str, stylesheet: str | None = None) -> bytes:
        """Render `html` to PDF bytes; raises `ForbiddenUrlError` if it references a non-`data:` URL."""
        with self._lock:
            sheets = [self._base]
            if stylesheet:
                if stylesheet not in self._sheets:
                    self._sheets[stylesheet] = self._compile(stylesheet)
                sheets.append(self._sheets[stylesheet])
            with _refused_urls_raised():
                document = HTML(string=html, url_fetcher=self.url_fetcher)
                return document.write_pdf(stylesheets=sheets, font_config=self.font_config)


_renderer: PdfRenderer | None = None
_renderer_lock = threading.Lock()


def get_renderer() -> PdfRenderer:
    """The process's shared renderer, created on first use."""
    global _renderer
    with _renderer_lock:
        if _renderer is None:
            _renderer = PdfRenderer()
        return _renderer
