"""Addresses no page may take: a path or query string holding a control or invisible character
(a NUL makes PostgreSQL refuse the query outright) is refused with a clear 400 before any view
or query sees it. Form fields are checked field by field by the forms themselves
(backoffice.forms), so a refused value is shown back beside its field.

Numbers in addresses stay within what an integer column holds: `<int:...>` in a URL rule, and
`request.args.get(name, type=bounded_int)` for a query parameter (a bigger one is as good as
absent), so no query is ever sent a number the database cannot bind.

A JSON body nested deeper than Python's parser goes is invalid JSON like any other (an API's
`get_json(silent=True)` gets None), not a RecursionError and a 500."""
from __future__ import annotations

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

from web.error_pages import PageError
from web.errors import InvalidValue
from web.text import plain_text

INT_MAX = 2**31 - 1  # PostgreSQL's integer; SQLite's is wider


def bounded_int(text: str) -> int:
    """`int`, for numbers an integer column can hold (ValueError otherwise)."""
    value = int(text)
    if not -INT_MAX <= value <= INT_MAX:
        raise ValueError(f"{text} is out of range")
    return value


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in URL rules: a number too big for an integer column matches no page (404)."""

    def __init__(self, url_map, fixed_digits: int = 0, min: int | None = None, max: int | None = INT_MAX,
                 signed: bool = False) -> None:
        super().__init__(url_map, fixed_digits, min, max, signed)


def _address_texts():
    yield request.path
    for key, values in request.args.lists():
        yield key
        yield from values


def refuse_unsafe_address() -> None:
    try:
        for text in _address_texts():
            plain_text(text)
    except InvalidValue:
        raise PageError(400, message=_("The address contains control or invisible characters. Please check "
                                       "the link or type the address again."),
                        api_message="the path or query string contains control or invisible characters") from None


class JSONProvider(DefaultJSONProvider):
    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("the JSON is nested too deeply") from None


def init_app(app: Flask) -> None:
    """Before any URL rule is added (the converter is looked up when a rule is)."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.json = JSONProvider(app)
    app.before_request(refuse_unsafe_address)
