"""Releases published by licensing, and the announcements of new majors still to make."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
from entitle_events.licensing import ReleasePublished

from services.policy.eligibility import Version
from services.runtime.db import Connection

from ..domain.records import PendingFanout


async def insert(conn: Connection, release: ReleasePublished) -> bool:
    """Record a release; False when it was known."""
    inserted = await conn.fetchval(
        "insert into releases (product, version, major, minor, patch, released_at, release_kind)"
        " values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing returning true",
        release.product,
        release.version,
        release.major,
        release.minor,
        release.patch,
        release.released_at,
        release.release_kind,
    )
    return bool(inserted)


async def queue_fanout(conn: Connection, product: str, version: str, at: datetime) -> None:
    await conn.execute(
        "insert into release_fanouts (product, version, created_at) values ($1, $2, $3)"
        " on conflict do nothing",
        product,
        version,
        at,
    )


async def released_at(pool: asyncpg.Pool, product: str, version: Version) -> datetime | None:
    """When `version` of `product` was published; None if it was not."""
    found: datetime | None = await pool.fetchval(
        "select released_at from releases where product = $1"
        " and major = $2 and minor = $3 and patch = $4",
        product,
        version.major,
        version.minor,
        version.patch,
    )
    return found


async def next_fanout(conn: Connection) -> PendingFanout | None:
    """The oldest announcement still to make, locked (`SKIP LOCKED`)."""
    row = await conn.fetchrow(
        "select f.product, f.version, f.cursor, r.released_at from release_fanouts f"
        " join releases r using (product, version) where f.done_at is null"
        " order by f.created_at limit 1 for update of f skip locked"
    )
    return None if row is None else PendingFanout.of(row)


async def advance_fanout(
    conn: Connection,
    fanout: PendingFanout,
    cursor: uuid.UUID | None,
    announced: int,
    done_at: datetime | None,
) -> None:
    await conn.execute(
        "update release_fanouts set cursor = $3, announced = announced + $4,"
        " done_at = $5 where product = $1 and version = $2",
        fanout.product,
        fanout.version,
        cursor,
        announced,
        done_at,
    )
