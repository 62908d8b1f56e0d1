"""The expiry job: subscriptions, trials and NFR licenses past their end expire, once."""

from __future__ import annotations

from entitle_events.licensing import LicenseExpired

from services.runtime.service import Runtime

from ..adapters import licenses
from .commands import ref


async def expire_due(runtime: Runtime, batch: int = 200) -> int:
    async with runtime.transaction() as ctx:
        due = await licenses.claim_expired(ctx.conn, ctx.now(), batch)
        for row in due:
            await licenses.set_status(ctx.conn, row["license_id"], "expired")
            ctx.emit(
                LicenseExpired(**ref(row), expired_at=row["expires_at"]),
                subject=str(row["license_id"]),
            )
    return len(due)
