"""Drawing charts leaves Python's import machinery as it found it: pygal's legacy finder, appended to
sys.meta_path when pygal is imported, made every missed import warn (and fail under the tests' filter)."""
from __future__ import annotations

import importlib
import sys
import warnings

import pytest


def test_a_missed_import_after_the_charts_module_is_a_plain_import_error():
    import reports.charts  # noqa: F401

    assert not [finder for finder in sys.meta_path if not hasattr(finder, "find_spec")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module("no_such_module_anywhere")
