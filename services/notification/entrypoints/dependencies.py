"""What notification's routes need besides the runtime, built by bootstrap.py."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.unsubscribe import UnsubscribeLinks


@dataclass(frozen=True)
class NotificationDependencies:
    unsubscribe: UnsubscribeLinks
    """Checks the one-click unsubscribe links the sender puts in non-transactional mail."""
