"""A list cut into batches: ids for one IN (...) within what SQLite and PostgreSQL bind in one
statement (PostgreSQL takes at most 65,535 parameters), rows per executemany or per transaction."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in order, `size` at a time (the last batch may be shorter)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
