"""Declarative base, naming convention and reusable column types."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated

from sqlalchemy import DateTime, Enum, MetaData, String, TypeDecorator, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, registry

from models.sealed import SealedText

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator):
    """Timestamps are stored in UTC and always come back timezone-aware.

    SQLite drops the offset, so naive values read back are UTC by construction.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use utcnow()")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


def enum_type(cls: type[enum.Enum], length: int = 24) -> Enum:
    """Enums are stored by their lower-case values, readable in plain SQL."""
    return Enum(cls, native_enum=False, length=length,
                values_callable=lambda members: [m.value for m in members])


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def update_where(session: Session, model: type, *conditions, **values) -> bool:
    """Set `values` on the rows of `model` where `conditions` hold, in one UPDATE; True when it
    changed exactly one row: of two transactions racing for the same change exactly one wins.
    Loaded objects are left as they are."""
    return session.execute(
        update(model).where(*conditions).values(**values).execution_options(synchronize_session=False)
    ).rowcount == 1


def insert_for(session: Session, model: type):
    """An INSERT into `model` in the session's database's own dialect, which has the ON CONFLICT
    clauses (on_conflict_do_nothing / _do_update, spelt alike by SQLite and PostgreSQL)."""
    return _INSERTS[session.get_bind().dialect.name](model)


_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def update_if(session: Session, row, *conditions, **values) -> bool:
    """Change `row` with `values` only while `conditions` still hold (update_where); the row is
    reloaded."""
    model = type(row)
    won = update_where(session, model, model.id == row.id, *conditions, **values)
    session.refresh(row)
    return won


intpk = Annotated[int, mapped_column(primary_key=True)]
str20 = Annotated[str, mapped_column(String(20))]
str40 = Annotated[str, mapped_column(String(40))]
str64 = Annotated[str, mapped_column(String(64))]
str120 = Annotated[str, mapped_column(String(120))]
str255 = Annotated[str, mapped_column(String(255))]
timestamp = Annotated[dt.datetime, mapped_column(UtcDateTime)]
created = Annotated[dt.datetime, mapped_column(UtcDateTime, default=utcnow)]
digest = Annotated[str, mapped_column(String(64), index=True)]


class Base(DeclarativeBase):
    # A registry of our own: Flask-SQLAlchemy subclasses this base and rejects a
    # class-level type_annotation_map.
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={dt.datetime: UtcDateTime},
    )


__all__ = ["Base", "SealedText", "UtcDateTime", "update_if", "utcnow"]
