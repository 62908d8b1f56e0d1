"""Injected time: rules and schedulers ask a clock, never the wall clock directly."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, when: datetime) -> None:
        self._now = when


class OffsetFileClock:
    """Wall clock plus an offset read from a file, so tests can move time in running
    service processes. Re-read only when the file changes."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._mtime: float | None = None
        self._offset = timedelta()

    def now(self) -> datetime:
        try:
            mtime = os.stat(self._path).st_mtime
        except FileNotFoundError:
            return datetime.now(UTC)
        if mtime != self._mtime:
            text = self._path.read_text().strip()
            self._offset = timedelta(seconds=float(text or 0))
            self._mtime = mtime
        return datetime.now(UTC) + self._offset
