"""Grouped requests: what concurrent requests ask of the database while one round trip is
running waits for the next and shares it. Writes share one transaction (a group commit:
ingress's webhook deliveries), reads one query (licensing's validation lookups, as a
DataLoader does). A burst of N requests then costs a few round trips of a constant number of
statements each, instead of N; a lone request goes at once (nothing waits for company, so
there is no added latency when idle).

Written here rather than taken from a library: what it groups is the service's own
set-based handler, and what must not happen is one request's failure failing the others."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from .errors import TRANSIENT_EXCEPTIONS

D = TypeVar("D")
T = TypeVar("T")
R = TypeVar("R")

Apply = Callable[[D, Sequence[T]], Awaitable[Sequence[R | Exception]]]
"""Applies requests in one round trip; returns each one's outcome in order (an exception
for a request refused on its own, without failing the others)."""


class Grouped(Generic[D, T, R]):
    def __init__(self, apply: Apply[D, T, R], *, max_batch: int = 256) -> None:
        self._apply = apply
        self._max_batch = max_batch
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._running: asyncio.Task[None] | None = None

    async def submit(self, db: D, command: T) -> R:
        """Apply `command` in the next round trip, with whatever else is waiting for it.
        Every request to one `Grouped` must come with the same `db`."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((command, future))
        if self._running is None:
            self._running = asyncio.create_task(self._run(db), name="grouped")
        return await future

    async def _run(self, db: D) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                await self._settle(db, batch)
        finally:
            self._running = None

    async def _settle(self, db: D, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            outcomes: Sequence[R | Exception] = await self._apply(db, [c for c, _ in batch])
        except TRANSIENT_EXCEPTIONS as exc:  # the database, not a command: each would fail
            outcomes = [exc] * len(batch)
        except Exception as exc:
            if len(batch) == 1:
                outcomes = [exc]
            else:  # perhaps one command's data: each alone, so only its own fails
                for one in batch:
                    await self._settle(db, [one])
                return
        except BaseException:
            for _, future in batch:
                future.cancel()
            raise
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # its request was cancelled; the command stands
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
