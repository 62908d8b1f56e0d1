"""Rows of records as the column arrays of a multi-row `unnest(...)` statement."""

from __future__ import annotations

from collections.abc import Sequence


def arrays(records: Sequence[object], names: str) -> list[list[object]]:
    """One list per comma-separated attribute name, each in the order of `records`."""
    return [[getattr(r, n.strip()) for r in records] for n in names.split(",")]
