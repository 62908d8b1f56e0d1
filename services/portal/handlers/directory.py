"""The directory of who may sign in for which account, projected from order and license
events (the portal keeps no copy of anyone's licenses)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from entitle_events import Event
from entitle_events.commerce import OrderPlaced
from entitle_events.licensing import LicenseAssigned, LicenseIssued, LicenseTransferred

from services.runtime.context import Context

from ..adapters import store
from ..domain.records import Member

DIRECTORY_EVENTS = (OrderPlaced, LicenseIssued, LicenseAssigned, LicenseTransferred)


async def on_directory_events(ctx: Context, events: Sequence[Event[Any]]) -> None:
    """Everyone a fetch's events name, remembered with one statement."""
    await store.remember_members(ctx.conn, [m for event in events for m in members(event)])


def members(event: Event[Any]) -> Iterator[Member]:
    data = event.data
    at = event.time
    match data:
        case OrderPlaced():
            for party in (data.buyer, data.end_customer):
                if party is not None:
                    yield Member(party.email, party.account_id, party.company, party.reseller, at)
        case LicenseIssued() | LicenseAssigned() | LicenseTransferred():
            yield Member(data.contact_email, data.account_id, data.company, False, at)
        case _:
            pass
