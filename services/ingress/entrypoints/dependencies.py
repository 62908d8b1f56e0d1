"""What ingress's routes need besides the runtime, built once by bootstrap.py."""

from __future__ import annotations

from dataclasses import dataclass

from ..handlers.receive_order import Deliveries


@dataclass(frozen=True, slots=True)
class IngressDependencies:
    deliveries: Deliveries
    """Concurrent webhook deliveries are stored in one transaction."""
