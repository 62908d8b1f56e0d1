"""Product versions and releases (seed 000: maintenance release vs version update).

`Version` is the platform's one definition (shared with licensing through the schema
package): `major.minor.patch`, `6` and `6.1` meaning `6.0.0` and `6.1.0`, an optional
leading `v`, numeric ordering, and a ValueError for anything else ("6.x", "six", "6.0-rc1").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from entitle_events.versions import Version

__all__ = ["Release", "ReleaseKind", "Version", "parse_version", "release_kind"]

ReleaseKind = Literal["maintenance", "update"]


def parse_version(text: str) -> Version:
    """`Version.parse`: ValueError when `text` is not `major[.minor[.patch]]`."""
    return Version.parse(text)


def release_kind(latest_major: int, version: Version) -> ReleaseKind:
    """A version update starts a major beyond `latest_major`; anything else is a
    maintenance release (a new build of an existing major, e.g. 4.0.0 → 4.0.1)."""
    return "update" if version.major > latest_major else "maintenance"


@dataclass(frozen=True)
class Release:
    """A published version of a product. `product` None: the product is not checked."""

    version: Version
    released_at: datetime
    product: str | None = None

    @classmethod
    def of(cls, version: str, released_at: datetime, product: str | None = None) -> Release:
        return cls(Version.parse(version), released_at, product)

    @property
    def major(self) -> int:
        return self.version.major
