"""The unit of work handlers run in: one transaction, the events it emits, the clock."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from entitle_events import Event, EventData, new_event

from . import outbox, tracing
from .clock import Clock
from .db import Connection
from .outbox import OutboxRecord

D = TypeVar("D", bound=EventData)


@dataclass
class Context:
    """Passed to every command and event handler.

    `conn` is inside the transaction; `emit` stages an event that is written to the outbox in
    that same transaction, so state and events commit together or not at all.
    """

    conn: Connection
    clock: Clock
    service: str
    cause: Event[Any] | None = None
    staged: list[OutboxRecord] = field(default_factory=list)
    traceparents: dict[Any, str | None] = field(default_factory=dict)
    """Event id -> the trace context its handling continues, when several are handled at
    once (a batch handler)."""

    def now(self) -> datetime:
        return self.clock.now()

    def emit(
        self,
        data: D,
        *,
        subject: str,
        correlationid: str | None = None,
        traceparent: str | None = None,
        cause: Event[Any] | None = None,
    ) -> Event[D]:
        """Stage `data` as an event. A batch handler names the event that caused it (`cause`),
        so that it continues that event's chain; otherwise the context's cause does."""
        cause = cause or self.cause
        if traceparent is None and cause is not None and cause.id in self.traceparents:
            traceparent = self.traceparents[cause.id]
        event = new_event(
            data,
            source=self.service,
            subject=subject,
            time=self.clock.now(),
            cause=cause,
            correlationid=correlationid,
            traceparent=traceparent or tracing.current_traceparent(),
        )
        self.staged.append(OutboxRecord.of(event))
        return event

    async def flush(self) -> list[int]:
        """Write the staged events to the outbox now; return their outbox ids."""
        ids = await outbox.stage(self.conn, self.staged)
        self.staged.clear()
        return ids


class Transactions(Protocol):
    """What a job or a command handler needs of its service: units of work and the clock
    (the runtime provides both; handlers never see the pool, relay or consumer)."""

    @property
    def clock(self) -> Clock: ...

    def transaction(
        self, cause: Event[Any] | None = None
    ) -> AbstractAsyncContextManager[Context]: ...
