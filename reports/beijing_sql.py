"""The Beijing calendar day and month of a UTC timestamp column, as SQL functions compiled for
SQLite (naive UTC text) and PostgreSQL alike: what the reports group by."""
from __future__ import annotations

from sqlalchemy import Date, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class business_day(FunctionElement):  # noqa: N801 — used like a SQL function
    """The Beijing calendar day of a UTC timestamp column."""

    type = Date()
    inherit_cache = True


@compiles(business_day, "sqlite")
def _business_day_sqlite(element, compiler, **kw):
    # Stored as naive UTC text; China keeps UTC+8 all year.
    return f"date({compiler.process(element.clauses, **kw)}, '+8 hours')"


@compiles(business_day, "postgresql")
def _business_day_postgresql(element, compiler, **kw):
    return f"CAST(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'Asia/Shanghai' AS DATE)"


class business_month(FunctionElement):  # noqa: N801 — used like a SQL function
    """The Beijing month of a UTC timestamp column, as "YYYY-MM"."""

    type = String()
    inherit_cache = True


@compiles(business_month, "sqlite")
def _business_month_sqlite(element, compiler, **kw):
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)}, '+8 hours')"


@compiles(business_month, "postgresql")
def _business_month_postgresql(element, compiler, **kw):
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"
