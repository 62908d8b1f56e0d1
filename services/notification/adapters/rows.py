"""Records to and from the columns of multi-row statements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def columns(records: Sequence[object], *names: str) -> list[list[Any]]:
    """The named attributes of every record, one list per name: the arrays a statement
    `unnest`s into rows."""
    return [[getattr(record, name) for record in records] for name in names]
