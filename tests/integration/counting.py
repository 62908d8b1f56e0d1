"""A connection that counts the statements a handler sends: the proof that a set-based
handler's statements do not grow with the number of events it applies."""

from __future__ import annotations

from typing import Any

SENDS = frozenset(
    {"execute", "executemany", "fetch", "fetchrow", "fetchval", "copy_records_to_table"}
)


class CountingConnection:
    """The transaction's connection, counting the statements sent through it."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.statements = 0

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._conn, name)
        if name not in SENDS:
            return found

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.statements += 1
            return await found(*args, **kwargs)

        return counted
