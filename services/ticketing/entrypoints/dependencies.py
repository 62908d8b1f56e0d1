"""What ticketing's routes need besides the runtime, built once by bootstrap.py."""

from __future__ import annotations

from dataclasses import dataclass

from ..handlers.common import Ticketing


@dataclass(frozen=True)
class TicketingDependencies:
    ticketing: Ticketing
    """Policy, business calendar and SLA targets."""
