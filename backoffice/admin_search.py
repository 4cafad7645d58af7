"""The administration lists' search and filters, taking what staff type literally.

Flask-Admin hands a search term or a "contains" filter's value to LIKE as it is: a '%' or '_'
typed there is a wildcard (searching "a_b" finds "axb"), and a term ending in a backslash (the
exact match "=\\") makes PostgreSQL refuse the query outright. Here those characters match
themselves; the search prefixes keep their meaning ('^' starts with, '=' exactly). Its number
filters take only numbers an integer column holds (a bigger one fails the query on both
databases): any other is refused as an invalid filter value, as a word would be.
"""
from __future__ import annotations

from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.model.filters import BaseIntFilter, BaseIntListFilter
from sqlalchemy import Unicode, cast, or_

from web.request_guard import bounded_int

LIKE_ESCAPE = "/"


def _literal(text: str) -> str:
    return text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace(
        "_", LIKE_ESCAPE + "_")


def like_pattern(term: str) -> str:
    """The LIKE pattern (escaped with LIKE_ESCAPE) of a typed term, read as Flask-Admin reads it."""
    if term.startswith("^"):
        return _literal(term[1:]) + "%"
    if term.startswith("="):
        return _literal(term[1:])
    return "%" + _literal(term) + "%"


class LiteralSearch:
    """A ModelView mixin: Flask-Admin's search (every word in one of the searchable columns), with
    each word taken literally."""

    def _apply_search(self, query, count_query, joins, count_joins, search: str):
        for term in search.split(" "):
            if not term:
                continue
            pattern = like_pattern(term)
            found, counted = [], []
            for field, path in self._search_fields:
                query, joins, alias = self._apply_path_joins(query, joins, path, inner_join=False)
                found.append(cast(field if alias is None else getattr(alias, field.key), Unicode)
                             .ilike(pattern, escape=LIKE_ESCAPE))
                if count_query is not None:
                    count_query, count_joins, count_alias = self._apply_path_joins(
                        count_query, count_joins, path, inner_join=False)
                    counted.append(cast(field if count_alias is None else getattr(count_alias, field.key), Unicode)
                                   .ilike(pattern, escape=LIKE_ESCAPE))
            query = query.filter(or_(*found))
            if count_query is not None:
                count_query = count_query.filter(or_(*counted))
        return query, count_query, joins, count_joins


class _Contains(sqla_filters.FilterLike):
    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias).ilike(like_pattern(value), escape=LIKE_ESCAPE))


class _DoesNotContain(sqla_filters.FilterNotLike):
    def apply(self, query, value, alias=None):
        return query.filter(~self.get_column(alias).ilike(like_pattern(value), escape=LIKE_ESCAPE))


class _BoundedInt:
    def clean(self, value: str) -> int:
        return bounded_int(value)


class _BoundedInts:
    def clean(self, value: str) -> list[int]:
        return [bounded_int(part.strip()) for part in value.split(",") if part.strip()]


def _bounded(cls: type) -> type:
    if issubclass(cls, BaseIntListFilter):
        return type(cls.__name__, (_BoundedInts, cls), {})
    if issubclass(cls, BaseIntFilter):
        return type(cls.__name__, (_BoundedInt, cls), {})
    return cls  # "is empty" takes no number


_LITERAL = {sqla_filters.FilterLike: _Contains, sqla_filters.FilterNotLike: _DoesNotContain}


class FilterConverter(sqla_filters.FilterConverter):
    """Flask-Admin's filters for each column type, with the text and number filters above."""

    strings = tuple(_LITERAL.get(cls, cls) for cls in sqla_filters.FilterConverter.strings)
    int_filters = tuple(_bounded(cls) for cls in sqla_filters.FilterConverter.int_filters)
