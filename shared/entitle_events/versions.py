"""Product versions: `major.minor.patch`, compared numerically."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_VERSION = re.compile(r"^v?(\d{1,6})(?:\.(\d{1,6}))?(?:\.(\d{1,6}))?$")


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int = 0
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> Version:
        """`6`, `6.1` and `6.1.2` (an optional leading `v`); anything else is a ValueError."""
        match = _VERSION.match(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a version like 6.1.2")
        major, minor, patch = (int(g) if g else 0 for g in match.groups())
        return cls(major, minor, patch)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return (self.major, self.minor, self.patch) < (other.major, other.minor, other.patch)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"
