"""What the support desk reads: the queue by nearest SLA deadline, a ticket's SLA status,
and the entitlement panel beside a ticket."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.runtime.db import Connection

from ..adapters import panel, queue, store
from ..domain import cycles
from ..domain.lifecycle import AUTO_CLOSE_ATTEMPTS, AUTO_CLOSE_WINDOW
from ..domain.queue import QueueFilter
from .common import Ticketing, load

_MINUTE = timedelta(minutes=1)


def sla_view(cfg: Ticketing, row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The ticket's running SLA cycles and its nearest deadline, at `now`."""
    ticket, clock = load(cfg, row, set())
    pauses = ticket.pauses
    running = []
    for cycle in clock.running:
        due = cycles.cycle_due(cfg.calendar, cycle, pauses)
        running.append(
            {
                "target": cycle.target,
                "cycle": cycle.number,
                "started_at": cycle.started,
                "due_at": due,
                "warn_at": cycles.warn_at(cfg.calendar, cycle, pauses),
                "business_minutes_left": cycles.time_left(cfg.calendar, cycle, pauses, now)
                // _MINUTE,
                "paused": due is None,
                "breached": cycle.breached or (due is not None and now > due),
            }
        )
    deadline = cycles.nearest_deadline(clock, cfg.calendar, pauses, now)
    # With fewer attempts made, the date the ticket closes once the last one is made.
    projected_close = (
        ticket.first_attempt_at + AUTO_CLOSE_WINDOW if ticket.first_attempt_at else None
    )
    return {
        "running": running,
        "next_deadline": None
        if deadline is None
        else {
            "target": deadline.target,
            "cycle": deadline.cycle,
            "due_at": deadline.due,
            "business_minutes_left": deadline.left // _MINUTE,
            "at_risk_from": deadline.at_risk_from,
        },
        "contact_attempts": ticket.contact_attempts,
        "auto_close_attempts": AUTO_CLOSE_ATTEMPTS,
        "closes_without_reply_at": projected_close if ticket.status == "pending" else None,
    }


def queue_item(cfg: Ticketing, row: dict[str, Any], now: datetime) -> dict[str, Any]:
    view = sla_view(cfg, row, now)
    return {
        **{
            k: row[k]
            for k in (
                "number",
                "ticket_id",
                "account_id",
                "email",
                "subject",
                "product",
                "version",
                "kind",
                "tier",
                "status",
                "assignee",
                "opened_at",
                "updated_at",
            )
        },
        "sla_state": row["sla_state"],
        "next_deadline": view["next_deadline"],
        "contact_attempts": view["contact_attempts"],
        "auto_close_attempts": AUTO_CLOSE_ATTEMPTS,
        "closes_without_reply_at": view["closes_without_reply_at"],
    }


async def queue_view(
    conn: Connection,
    cfg: Ticketing,
    now: datetime,
    f: QueueFilter,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    rows = await queue.queue_page(conn, now, f, limit + 1, offset)
    counts = await queue.facet_counts(conn, now, f)
    more = len(rows) > limit
    return {
        "items": [queue_item(cfg, r, now) for r in rows[:limit]],
        "counts": counts,
        "total": queue.total_of(counts, f),
        "next_offset": offset + limit if more else None,
        "as_of": now,
    }


def _coverage_status(license_row: dict[str, Any], now: datetime) -> str:
    if license_row["covered"] is None:
        return "none"
    if license_row["status"] != "active":
        return "ended"
    if license_row["covered"] and license_row["perpetual"]:
        return "perpetual"
    ends = license_row["coverage_ends_at"]
    if license_row["covered"] and ends is not None and ends > now:
        return "active"
    return "lapsed"


def _plan_name(cfg: Ticketing, code: str | None) -> str | None:
    plan = cfg.catalog.plan(code) if code and cfg.catalog else None
    return plan.name if plan else code


async def entitlement_panel(
    conn: Connection, cfg: Ticketing, row: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """Everything the agent needs beside the ticket to know what the customer is owed."""
    account, product = row["account_id"], row["product"]
    licenses = []
    for lic in await panel.licenses(conn, account, product):
        licenses.append(
            {
                "license_id": lic["license_id"],
                "license_key": lic["license_key"],
                "kind": lic["kind"],
                "edition": lic["edition"],
                "status": lic["status"],
                "purchased_at": lic["purchased_at"],
                "expires_at": lic["expires_at"],
                "major_version": lic["major_version"],
                "coverage": {
                    "status": _coverage_status(lic, now),
                    "ends_at": lic["coverage_ends_at"],
                    "plan": lic["plan"],
                    "plan_name": _plan_name(cfg, lic["plan"]),
                },
                "named_on_ticket": lic["license_id"] == row["license_id"],
            }
        )
    plans = [
        {**p, "active": p["starts_at"] <= now and (p["ends_at"] is None or p["ends_at"] > now)}
        for p in await panel.support_plans(conn, account, product)
    ]
    granted, used = await panel.credits(conn, account)
    support = await store.version_support(conn, product, row["version"], now, cfg.catalog)
    return {
        "account_id": account,
        "product": product,
        "tier": {
            "current": row["tier"],
            "at_open": row["tier_at_open"],
            "reason": row["tier_reason"],
            "credit_used": row["credit_used"],
        },
        "license_key": None
        if row["license_key"] is None
        else {"key": row["license_key"], "status": row["license_key_status"]},
        "licenses": licenses,
        "support_plans": plans,
        "incident_credits": {"granted": granted, "used": used, "left": max(granted - used, 0)},
        "partner_since": await panel.partner_since(conn, account),
        "version": {
            "version": row["version"],
            "supported": support.supported,
            "supported_until": support.until,
            "releases_known": support.known,
        },
        "as_of": now,
    }
