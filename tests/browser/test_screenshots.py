"""The browser tests write the README's screenshots only when asked: `make screenshots`, which
passes --update-screenshots; any other run keeps them in a temporary folder."""
from __future__ import annotations

from tests.browser.conftest import README_SCREENSHOTS


def test_screenshots_go_into_the_readme_only_when_asked(request, screenshots):
    asked = request.config.getoption("--update-screenshots")
    assert (screenshots == README_SCREENSHOTS) is asked
    if not asked:
        assert screenshots.is_dir() and README_SCREENSHOTS not in screenshots.parents
