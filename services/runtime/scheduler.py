"""Jobs that run inside a service on a timer (renewal notices, SLA checks, email sending).

A job claims due work itself (`FOR UPDATE SKIP LOCKED`), so several copies can run it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from . import metrics
from .errors import is_transient

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    run: Callable[[], Awaitable[int]] = field(repr=False)
    interval: float = 1.0
    """Seconds between runs that found nothing to do; a run that did work runs again at once."""
    wake_on_commit: bool = False
    """Also run as soon as the service commits new work (sending email), rather than only at
    the interval; jobs that scan for due dates gain nothing from it and would scan on every
    commit."""
    wake: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    async def loop(self, stop: asyncio.Event, backoff_max: float) -> None:
        failures = 0
        while not stop.is_set():
            self.wake.clear()  # before the run: a wake-up during it is not lost
            try:
                done = await self.run()
                failures = 0
                metrics.SCHEDULER_RUNS.labels(self.name, "ok").inc()
            except Exception as exc:
                failures += 1
                metrics.SCHEDULER_RUNS.labels(self.name, "error").inc()
                if is_transient(exc):
                    log.warning("job %s: %s", self.name, exc)
                else:
                    log.exception("job %s failed", self.name)
                await _wait(stop, self.wake, min(backoff_max, 0.5 * 2 ** min(failures, 8)))
                continue
            if done == 0:
                await _wait(stop, self.wake, self.interval)


async def _wait(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    tasks = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())}
    try:
        await asyncio.wait(tasks, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
