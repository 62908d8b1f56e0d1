"""The job that forgets ended sessions, and links and attempts past their use."""

from __future__ import annotations

from datetime import timedelta

from services.runtime.context import Transactions

from ..adapters import store

KEPT = timedelta(days=1)
"""How long used links and counted attempts stay after their window (for a look back)."""


async def forget_ended(transactions: Transactions) -> int:
    async with transactions.transaction() as ctx:
        now = ctx.now()
        await store.forget_expired(ctx.conn, now, now - KEPT)
    return 0
