"""The one PDF helper: renders HTML, serves data: URIs only."""
from __future__ import annotations

import pytest

from reports.pdf import ForbiddenUrlError, PdfRenderer, get_renderer

SVG_URI = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='4' height='4'/%3E"


@pytest.fixture(scope="module")
def renderer() -> PdfRenderer:
    return get_renderer()


def test_renders_pdf_bytes_with_a_data_uri(renderer):
    pdf = renderer.render(f'<p>发票</p><img src="{SVG_URI}">', stylesheet="p { color: red }")
    assert pdf.startswith(b"%PDF-")


def test_one_renderer_per_process():
    assert get_renderer() is get_renderer()


def test_stylesheet_compiled_once(renderer):
    css = "p { margin: 1mm }"
    renderer.render("<p>a</p>", stylesheet=css)
    compiled = renderer._sheets[css]
    renderer.render("<p>b</p>", stylesheet=css)
    assert renderer._sheets[css] is compiled


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://example.com/x.png", "https://example.com/x.css"])
@pytest.mark.parametrize("markup", ['<img src="{url}">', '<link rel="stylesheet" href="{url}">',
                                    '<style>@import url("{url}");</style>'])
def test_refuses_files_and_outside_urls(renderer, markup, url):
    with pytest.raises(ForbiddenUrlError, match="only reference data: URIs"):
        renderer.render(markup.format(url=url) + "<p>x</p>")


def test_refuses_urls_in_a_stylesheet():
    with pytest.raises(ForbiddenUrlError):
        PdfRenderer(base_css='@font-face { font-family: x; src: url("file:///etc/passwd") }')
