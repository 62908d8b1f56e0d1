"""The tier follows the live entitlement: the license a ticket names, and every change of an
open ticket's entitlement (a renewal, a lapse, a plan bought or refunded, a license moved).

Decisions (documented in the README):

* A ticket naming a `license_key` is entitled from that license when the license belongs to
  the ticket's account and is of its product; license-bound facts (maintenance,
  subscription, trial) then come from that license alone. A key of another account, an
  unknown key or one of another product is ignored, with an internal note, never trusted.
* While a ticket is open, its tier is decided again whenever its account's entitlement
  changes, and when a cover, subscription, plan or trial runs out. A re-decision never
  consumes an incident credit: only a ticket that used one at opening can be per-incident.
  A change to the forum tier (no plan any more where the policy has no tickets without one)
  keeps the ticket's tier: an open ticket is never refused.
* SLA targets on a tier change: running cycles keep their due times and gain the new tier's
  target counted from the moment of the change (`cycles.retarget`): an upgrade can only bring
  a deadline forward, a downgrade never moves one back, and cycles that start later use the
  new tier's targets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from entitle_events import Event
from entitle_events.commerce import OrderPlaced, OrderRefunded
from entitle_events.ticketing import TicketTierChanged

from services.runtime.context import Context, Transactions
from services.runtime.db import Connection

from ..adapters import projection, store
from ..domain import cycles
from ..domain.records import TicketRow
from ..domain.tiers import decide_support, explain
from .common import SYSTEM, Ticketing, derive, load_row, ref

KeyStatus = Literal["verified", "other_account", "unknown", "other_product"]
BatchHandler = Callable[[Context, Sequence[Event[Any]]], Awaitable[None]]


@dataclass(frozen=True)
class KeyCheck:
    status: KeyStatus | None
    license_id: str | None = None

    @property
    def trusted(self) -> bool:
        return self.status == "verified"


async def check_license_key(
    conn: Connection, key: str | None, account_id: str, product: str
) -> KeyCheck:
    """Whether the key a ticket names entitles it: a license of this account and product."""
    if key is None:
        return KeyCheck(None)
    found = await store.license_by_key(conn, key)
    if found is None:
        return KeyCheck("unknown")
    if found.account_id != account_id:
        return KeyCheck("other_account")
    if found.product != product:
        return KeyCheck("other_product")
    return KeyCheck("verified", found.license_id)


_KEY_NOTES: dict[str, str] = {
    "other_account": "The license key on this ticket belongs to another account; it was"
    " ignored and the tier comes from the account's own entitlement.",
    "unknown": "The license key on this ticket is not a known license; it was ignored and the"
    " tier comes from the account's own entitlement.",
    "other_product": "The license key on this ticket is for another product; it was ignored"
    " and the tier comes from the account's own entitlement.",
}


def key_note(check: KeyCheck, key: str | None) -> str | None:
    """The internal timeline note for an ignored key (agents only: it names the key)."""
    if check.status is None or check.trusted:
        return None
    return f"{_KEY_NOTES[check.status]} Key: {key}"


async def next_review(
    conn: Connection,
    cfg: Ticketing,
    account_id: str,
    product: str,
    license_id: str | None,
    now: datetime,
) -> datetime | None:
    return await store.next_entitlement_change(
        conn, account_id, product, license_id, now, cfg.policy.trial_days, cfg.policy.timezone
    )


async def review(
    ctx: Context, cfg: Ticketing, row: TicketRow, cause: Event[Any] | None = None
) -> bool:
    """Decide an open ticket's tier again from the entitlement now; True when it changed.
    `cause`: the entitlement event that made it look again, if any."""
    conn, now = ctx.conn, ctx.now()
    ticket, clock = await load_row(ctx, cfg, row)
    check = await check_license_key(conn, row.license_key, row.account_id, row.product)
    facts = await store.entitlement_facts(
        conn,
        row.account_id,
        row.product,
        row.version,
        now,
        catalog=cfg.catalog,
        setup_products=frozenset(cfg.settings.setup_assistance_products),
        license_id=check.license_id,
    )
    own_credit = replace(facts, incident_credits=1 if row.credit_used else 0)
    decision = decide_support(own_credit, cfg.policy, row.kind, now)
    previous = row.tier
    if decision.tier not in cfg.sla:
        tier = previous
        reason = (
            "No active plan any more: new requests go to the forum; this ticket keeps the"
            f" {previous} tier it had."
        )
    else:
        tier = decision.tier
        accepted = replace(decision, accepted=True, code=None, reason=None)
        reason = explain(accepted, facts, cfg.policy, credit_used=row.credit_used)
    row = replace(
        row,
        tier=tier,
        tier_reason=reason,
        license_id=check.license_id,
        license_key_status=check.status,
        reevaluate_at=await next_review(
            conn, cfg, row.account_id, row.product, check.license_id, now
        ),
    )
    changed = bool(tier != previous)
    if changed:
        clock = cycles.retarget(clock, ticket, cfg.sla.get(tier), now)
        ctx.emit(
            TicketTierChanged(
                **ref(cfg, row, SYSTEM),
                previous_tier=previous,
                tier=tier,
                reason=reason,
                changed_at=now,
            ),
            subject=row.ticket_id,
            cause=cause,
        )
        await store.add_timeline(
            conn,
            row.ticket_id,
            now,
            "tier_changed",
            "system",
            reason,
            {"from": previous, "to": tier},
            actor=SYSTEM,
            internal=True,
        )
    await store.update_ticket(conn, derive(cfg, row, ticket, clock, now))
    return changed


def _accounts_named(data: Any) -> set[str]:
    accounts = set()
    for name in ("account_id", "from_account_id", "reseller_account_id"):
        value = getattr(data, name, None)
        if isinstance(value, str):
            accounts.add(value)
    if isinstance(data, OrderPlaced):
        accounts.add(data.buyer.account_id)
        if data.end_customer is not None:
            accounts.add(data.end_customer.account_id)
    return accounts


async def _accounts_concerned(ctx: Context, events: Sequence[Event[Any]]) -> list[set[str]]:
    """For each event, the accounts whose entitlement it may change (a refund names none:
    the projection knows whose credits and plans its order granted)."""
    refunded = [e.data.order_id for e in events if isinstance(e.data, OrderRefunded)]
    of_refunds = await projection.accounts_of_orders(ctx.conn, refunded) if refunded else set()
    return [
        _accounts_named(e.data) | (of_refunds if isinstance(e.data, OrderRefunded) else set())
        for e in events
    ]


def following(cfg: Ticketing, apply: BatchHandler) -> BatchHandler:
    """A projection batch handler whose changes are followed by the open tickets they
    concern."""

    async def apply_and_review(ctx: Context, events: Sequence[Event[Any]]) -> None:
        concerned = await _accounts_concerned(ctx, events)
        accounts = sorted(set().union(*concerned))
        if not accounts or not await store.open_tickets_of(ctx.conn, accounts):
            await apply(ctx, events)
            return
        # An open ticket is decided again after each change of its entitlement, and each
        # decision may emit a tier change: one event at a time keeps those changes exactly
        # what applying the events one by one emits (tickets open rarely beside the stream).
        for event in events:
            (named,) = await _accounts_concerned(ctx, [event])
            await apply(ctx, [event])
            for row in await store.open_tickets_of(ctx.conn, sorted(named)) if named else []:
                await review(ctx, cfg, row, cause=event)

    return apply_and_review


async def review_due(db: Transactions, cfg: Ticketing, batch: int = 100) -> int:
    """Tickets whose entitlement changes by time alone (a cover ends, a trial runs out)."""
    async with db.transaction() as ctx:
        rows = await store.claim_due(ctx.conn, "reevaluate_at", ctx.now(), batch)
        for row in rows:
            if row.status == "closed":
                await store.update_ticket(ctx.conn, replace(row, reevaluate_at=None))
                continue
            await review(ctx, cfg, row)
    return len(rows)
