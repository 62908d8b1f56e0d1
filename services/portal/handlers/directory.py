"""The directory of who may sign in for which account, projected from order and license
events (the portal keeps no copy of anyone's licenses)."""

from __future__ import annotations

from typing import Any

from entitle_events import Event
from entitle_events.commerce import OrderPlaced
from entitle_events.licensing import LicenseAssigned, LicenseIssued, LicenseTransferred

from services.runtime.context import Context

from ..adapters import store

DIRECTORY_EVENTS = (OrderPlaced, LicenseIssued, LicenseAssigned, LicenseTransferred)


async def on_directory_event(ctx: Context, event: Event[Any]) -> None:
    data = event.data
    at = event.time
    match data:
        case OrderPlaced():
            for party in (data.buyer, data.end_customer):
                if party is not None:
                    await store.remember_member(
                        ctx.conn, party.email, party.account_id, party.company, party.reseller, at
                    )
        case LicenseIssued():
            await store.remember_member(
                ctx.conn, data.contact_email, data.account_id, data.company, False, at
            )
        case LicenseAssigned() | LicenseTransferred():
            await store.remember_member(
                ctx.conn, data.contact_email, data.account_id, data.company, False, at
            )
        case _:
            pass
