"""How times, money and lists are shown to a person. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

T = TypeVar("T")


def zone_or_default(name: str | None, default: str) -> ZoneInfo:
    """The viewer's zone if it is a real IANA zone, else the default."""
    if name and len(name) < 64:
        try:
            if name in _zones():
                return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(default)


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def zone_names() -> list[str]:
    return sorted(_zones())


def _local(value: datetime | str, zone: ZoneInfo) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(zone)


def local_time(value: datetime | str | None, zone: ZoneInfo) -> str:
    """`21 Nov 2026, 11:00 (Europe/Berlin)`: a time always names its zone."""
    if value is None:
        return "—"
    return f"{_local(value, zone).strftime('%-d %b %Y, %H:%M')} ({zone.key})"


def local_date(value: datetime | str | None, zone: ZoneInfo) -> str:
    """`21 Nov 2026`, the day in the viewer's zone (named once, in the page's footer)."""
    if value is None:
        return "—"
    return _local(value, zone).strftime("%-d %b %Y")


def machine_time(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.isoformat()


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    size: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def paginate(items: list[T], number: int, size: int) -> Page[T]:
    number = max(1, number)
    start = (number - 1) * size
    return Page(items[start : start + size], number, size, len(items) > start + size)
