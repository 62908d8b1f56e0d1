"""Error classes the runtime understands.

Consumers retry transient errors with backoff and send permanent ones to the dead-letter
topic. HTTP entrypoints answer ApiError as JSON `{"code", "detail"}`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


class PermanentError(Exception):
    """Processing this message can never succeed (invalid payload, domain rule)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class Refused(PermanentError):
    """A rule refuses the command: a stable code and a sentence, and no transport. Under the
    consumer it is a permanent error (dead-lettered at once with its code); over HTTP the
    service's refusal table picks the status."""


class TransientError(Exception):
    """Try again later: a dependency is unavailable."""


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = extra


TRANSIENT_EXCEPTIONS: tuple[type[Exception], ...] = (
    TransientError,
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.LockNotAvailableError,
    asyncpg.QueryCanceledError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    # asyncpg lost track of a connection the server ended mid-transaction (the connection
    # closes itself: see db.py); the next attempt gets a fresh one.
    asyncpg.InternalClientError,
)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT_EXCEPTIONS)
