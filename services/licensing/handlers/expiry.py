"""The expiry job: subscriptions, trials and NFR licenses past their end expire, once."""

from __future__ import annotations

from entitle_events.licensing import LicenseExpired

from services.runtime.context import Transactions

from ..adapters import licenses
from ..domain import lifecycle
from .commands import ref


async def expire_due(transactions: Transactions, batch: int = 200) -> int:
    async with transactions.transaction() as ctx:
        due = await licenses.claim_expired(ctx.conn, ctx.now(), batch)
        if due:
            await licenses.set_status(
                ctx.conn, [license.license_id for license in due], lifecycle.EXPIRED
            )
        for license in due:
            ctx.emit(
                LicenseExpired(**ref(license), expired_at=license.expires_at),
                subject=str(license.license_id),
            )
    return len(due)
