"""The unit of work handlers run in: one transaction, the events it emits, the clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

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

    def now(self) -> datetime:
        return self.clock.now()

    def emit(
        self,
        data: D,
        *,
        subject: str,
        correlationid: str | None = None,
        traceparent: str | None = None,
    ) -> Event[D]:
        event = new_event(
            data,
            source=self.service,
            subject=subject,
            time=self.clock.now(),
            cause=self.cause,
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
