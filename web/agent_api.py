"""What the two APIs that programs call (the station agent's, station.api, and the key helper's,
public.helper_api) share: their JSON errors and the checks of the bodies they are sent."""
from __future__ import annotations

from flask import jsonify


def error(code: str, message: str, status: int):
    """`{"error": code, "message": text}` with the status."""
    return jsonify({"error": code, "message": message}), status


def text(body: dict, name: str, limit: int) -> str:
    """The string `name` of the body; ValueError (answered 400) unless it is one of at most `limit` characters."""
    value = body.get(name)
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise ValueError(f"{name} is a string of at most {limit} characters")
    return value


def wrong_pins(body: dict, most: int | None = None) -> list[dict]:
    """The wrong PIN logins the program reports (`[{"pin": "user" | "so"}]`), at most `most` when given."""
    value = body.get("wrong_pins") or []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value) \
            or (most is not None and len(value) > most):
        raise ValueError("wrong_pins is a list of objects" + (f", at most {most}" if most is not None else ""))
    return value
