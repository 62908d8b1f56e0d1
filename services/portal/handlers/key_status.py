"""The public key-status page's limit: look-ups per client address."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from ..adapters import store
from ..domain.sign_in import RateLimit


async def lookup_allowed(pool: asyncpg.Pool, client: str, limit: RateLimit, now: datetime) -> bool:
    """Count one look-up from this client; whether the limit still allowed it."""
    return limit.allows(await store.count_key_lookups(pool, client, limit.since(now), now))
