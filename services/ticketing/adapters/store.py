"""SQL of ticketing: entitlement facts from the projection, tickets and their timeline."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from services.policy.catalog import Catalog
from services.policy.lifecycle import (
    DEFAULT_SUPPORT_MONTHS,
    is_supported,
    support_ends_at,
)
from services.policy.releases import Release
from services.runtime.db import Connection

from ..domain.cycles import Cycle, Leg, SlaClock
from ..domain.lifecycle import Survey, Ticket
from ..domain.queue import TicketFilter
from ..domain.records import (
    KeyedLicense,
    ListedTicket,
    TicketRow,
    TimelineEntry,
    VersionSupport,
)
from ..domain.sla import Pause
from ..domain.tiers import EntitlementFacts, PlanBasis

# The stored columns of a ticket, in `TicketRow`'s order (`state` and `sla` as JSON).
TICKET_COLUMNS = (
    "ticket_id, number, account_id, email, license_key, product, version, kind, subject, body,"
    " tier, tier_at_open, tier_reason, status, opened_at, updated_at, first_response_due,"
    " state, sla, awaiting_agent_since, sla_check_at, auto_close_at, next_due_at, next_target,"
    " at_risk_from, assignee, license_id, license_key_status, credit_used, reevaluate_at"
)
_COLUMNS = tuple(c.strip() for c in TICKET_COLUMNS.split(","))
# Columns a command or a job rewrites (all but the ticket's identity and request).
_MUTABLE = (
    "tier",
    "status",
    "updated_at",
    "awaiting_agent_since",
    "sla_check_at",
    "auto_close_at",
    "state",
    "sla",
    "assignee",
    "next_due_at",
    "next_target",
    "at_risk_from",
    "tier_reason",
    "license_id",
    "license_key_status",
    "reevaluate_at",
)


async def available_credits(conn: Connection, account_id: str) -> int:
    value = await conn.fetchval(
        "select coalesce((select sum(credits) from ent_credit_grants where account_id = $1), 0)"
        " - (select count(*) from credit_uses where account_id = $1)",
        account_id,
    )
    return max(int(value or 0), 0)


async def version_support(
    conn: Connection, product: str, version: str, now: datetime, catalog: Catalog | None
) -> VersionSupport:
    """Support lifecycle: unknown until the product's releases are known."""
    rows = await conn.fetch(
        "select version, released_at from ent_releases where product = $1", product
    )
    if not rows:
        return VersionSupport(True, None, False)
    try:
        releases = [Release.of(r["version"], r["released_at"], product) for r in rows]
        major = Release.of(version, now).major
    except ValueError:
        return VersionSupport(True, None, False)
    known = catalog.product(product) if catalog is not None else None
    months = known.support_months_after_next_major if known else DEFAULT_SUPPORT_MONTHS
    return VersionSupport(
        is_supported(major, releases, now, months),
        support_ends_at(major, releases, months),
        True,
    )


async def entitlement_facts(
    conn: Connection,
    account_id: str,
    product: str,
    version: str,
    now: datetime,
    *,
    catalog: Catalog | None = None,
    setup_products: frozenset[str] = frozenset(),
    license_id: str | None = None,
) -> EntitlementFacts:
    """The requester's entitlement for `product`. With `license_id` (a license of the
    account named on the ticket), license-bound facts (maintenance, subscription, trial)
    come from that license alone; support plans, credits and partnership are the account's.
    """
    row = await conn.fetchrow(
        """
        select
          (select array[l.license_key, l.expires_at::text] from ent_licenses l
            where l.account_id = $1 and l.product = $2 and ($4::text is null or l.license_id = $4)
            and l.kind in ('subscription', 'msp') and l.status = 'active'
            and (l.expires_at is null or l.expires_at > $3)
            order by l.expires_at desc nulls first limit 1) as subscription,
          (select array[coalesce(l.license_key, c.license_id), c.ends_at::text]
            from ent_coverage c left join ent_licenses l using (license_id)
            where c.account_id = $1 and c.product = $2 and ($4::text is null or c.license_id = $4)
            and c.covered and (c.perpetual or c.ends_at > $3)
            and coalesce(l.status, 'active') = 'active'
            order by c.perpetual desc, c.ends_at desc limit 1) as maintenance,
          (select array[order_id, ends_at::text] from ent_support_plans
            where account_id = $1 and product = $2
            and starts_at <= $3 and (ends_at is null or ends_at > $3)
            order by ends_at desc nulls first limit 1) as support_plan,
          (select max(purchased_at) from ent_licenses where account_id = $1 and product = $2
                  and ($4::text is null or license_id = $4)
                  and kind = 'trial' and status not in ('revoked', 'deactivated'))
                  as registered_at,
          exists (select 1 from ent_partners where account_id = $1) as partner
        """,
        account_id,
        product,
        now,
        license_id,
    )
    assert row is not None
    basis = None
    for kind in ("subscription", "maintenance", "support_plan"):
        found = row[kind]
        if found is not None:
            ref, until = found
            basis = PlanBasis(kind, ref, datetime.fromisoformat(until) if until else None)
            break
    return EntitlementFacts(
        has_active_plan=row["maintenance"] is not None or row["support_plan"] is not None,
        has_active_subscription=row["subscription"] is not None,
        incident_credits=await available_credits(conn, account_id),
        registered_at=row["registered_at"],
        is_partner=row["partner"],
        setup_assistance=product in setup_products,
        version_supported=(await version_support(conn, product, version, now, catalog)).supported,
        plan_basis=basis,
    )


async def next_entitlement_change(
    conn: Connection,
    account_id: str,
    product: str,
    license_id: str | None,
    now: datetime,
    trial_days: int,
    timezone: str,
) -> datetime | None:
    """The next instant at which the facts change by the passing of time alone (a cover, a
    subscription or a support plan ends, a plan starts, a trial runs out); None: no such."""
    value = await conn.fetchval(
        """
        select min(t) from (
          select ends_at as t from ent_coverage where account_id = $1 and product = $2
            and ($3::text is null or license_id = $3) and covered and not perpetual
          union all
          select expires_at from ent_licenses where account_id = $1 and product = $2
            and ($3::text is null or license_id = $3) and status = 'active'
          union all
          select (date_trunc('day', purchased_at at time zone $6)
                  + make_interval(days => $5)) at time zone $6 from ent_licenses
            where account_id = $1 and product = $2 and ($3::text is null or license_id = $3)
            and kind = 'trial'
          union all
          select ends_at from ent_support_plans where account_id = $1 and product = $2
          union all
          select starts_at from ent_support_plans where account_id = $1 and product = $2
        ) s where t > $4
        """,
        account_id,
        product,
        license_id,
        now,
        trial_days,
        timezone,
    )
    return value  # type: ignore[no-any-return]


async def review_all_open_tickets(conn: Connection, now: datetime) -> None:
    """Every open ticket's tier is decided again soon (after a projection rebuild)."""
    await conn.execute("update tickets set reevaluate_at = $1 where status <> 'closed'", now)


async def license_by_key(conn: Connection, key: str) -> KeyedLicense | None:
    row = await conn.fetchrow(
        "select license_id, account_id, product from ent_licenses where license_key = $1", key
    )
    return None if row is None else KeyedLicense(**row)


# -- ticket state as JSON ---------------------------------------------------------------


def _t(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _d(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def dump_ticket(t: Ticket) -> str:
    return json.dumps(
        {
            "ticket_id": t.ticket_id,
            "status": t.status,
            "opened_at": _t(t.opened_at),
            "updated_at": _t(t.updated_at),
            "first_response_at": _t(t.first_response_at),
            "contact_attempts": t.contact_attempts,
            "first_attempt_at": _t(t.first_attempt_at),
            "last_attempt_at": _t(t.last_attempt_at),
            "last_customer_reply_at": _t(t.last_customer_reply_at),
            "pauses": [[_t(p.start), _t(p.end)] for p in t.pauses],
            "solved_at": _t(t.solved_at),
            "closed_at": _t(t.closed_at),
            "close_reason": t.close_reason,
            "reopen_count": t.reopen_count,
            "survey": None
            if t.survey is None
            else {
                "rating": t.survey.rating,
                "comment": t.survey.comment,
                "answered_at": _t(t.survey.answered_at),
            },
        }
    )


def load_ticket(text: str) -> Ticket:
    d: dict[str, Any] = json.loads(text)
    survey = d["survey"]
    opened, updated = _d(d["opened_at"]), _d(d["updated_at"])
    assert opened is not None and updated is not None
    pauses = []
    for start, end in d["pauses"]:
        begun = _d(start)
        assert begun is not None
        pauses.append(Pause(begun, _d(end)))
    answered = _d(survey["answered_at"]) if survey else None
    return Ticket(
        ticket_id=d["ticket_id"],
        status=d["status"],
        opened_at=opened,
        updated_at=updated,
        first_response_at=_d(d["first_response_at"]),
        contact_attempts=d["contact_attempts"],
        first_attempt_at=_d(d["first_attempt_at"]),
        last_attempt_at=_d(d["last_attempt_at"]),
        last_customer_reply_at=_d(d["last_customer_reply_at"]),
        pauses=tuple(pauses),
        solved_at=_d(d["solved_at"]),
        closed_at=_d(d["closed_at"]),
        close_reason=d["close_reason"],
        reopen_count=d["reopen_count"],
        survey=Survey(survey["rating"], survey["comment"], answered)
        if survey and answered
        else None,
    )


def dump_clock(clock: SlaClock) -> str:
    return json.dumps(
        {
            "running": [
                {
                    "target": c.target,
                    "number": c.number,
                    "started": _t(c.started),
                    "legs": [[_t(leg.since), leg.minutes, leg.lead] for leg in c.legs],
                    "warned": c.warned,
                    "breached": c.breached,
                }
                for c in clock.running
            ],
            "numbers": clock.numbers,
            "awaiting_since": _t(clock.awaiting_since),
        }
    )


def load_clock(text: str) -> SlaClock:
    d: dict[str, Any] = json.loads(text)
    running = []
    for c in d["running"]:
        started = _d(c["started"])
        assert started is not None
        legs = []
        for since, minutes, lead in c["legs"]:
            begun = _d(since)
            assert begun is not None
            legs.append(Leg(begun, minutes, lead))
        running.append(
            Cycle(c["target"], c["number"], started, tuple(legs), c["warned"], c["breached"])
        )
    return SlaClock(tuple(running), dict(d["numbers"]), _d(d["awaiting_since"]))


# -- tickets ----------------------------------------------------------------------------


def ticket_of(row: asyncpg.Record) -> TicketRow:
    """A ticket from a row of `TICKET_COLUMNS` (more columns are ignored)."""
    fields = {c: row[c] for c in _COLUMNS if c not in ("state", "sla")}
    sla = row["sla"]
    return TicketRow(
        **fields, state=load_ticket(row["state"]), clock=None if sla is None else load_clock(sla)
    )


def _column_values(ticket: TicketRow, columns: tuple[str, ...]) -> list[Any]:
    def value(column: str) -> Any:
        if column == "state":
            return dump_ticket(ticket.state)
        if column == "sla":
            return None if ticket.clock is None else dump_clock(ticket.clock)
        return getattr(ticket, column)

    return [value(c) for c in columns]


async def ticket_by_number(
    conn: Connection, number: str, *, lock: bool = False
) -> TicketRow | None:
    row = await conn.fetchrow(
        f"select {TICKET_COLUMNS} from tickets where number = $1" + (" for update" if lock else ""),
        number,
    )
    return None if row is None else ticket_of(row)


async def ticket_by_key(conn: Connection, account_id: str, key: str) -> TicketRow | None:
    row = await conn.fetchrow(
        f"select {TICKET_COLUMNS} from tickets where account_id = $1 and idempotency_key = $2",
        account_id,
        key,
    )
    return None if row is None else ticket_of(row)


async def lock_openings_of(conn: Connection, account_id: str) -> None:
    """One opening per account at a time (until the transaction ends)."""
    await conn.execute("select pg_advisory_xact_lock(hashtext('tickets:' || $1))", account_id)


async def next_ticket_seq(conn: Connection) -> int:
    seq: int = await conn.fetchval("select nextval('ticket_number_seq')")
    return seq


async def record_rejection(
    conn: Connection, account_id: str, key: str, code: str | None, at: datetime
) -> bool:
    """Remember a refused request by its idempotency key; False when it was refused before."""
    fresh = await conn.fetchval(
        "insert into rejected_requests (account_id, idempotency_key, code, rejected_at)"
        " values ($1, $2, $3, $4) on conflict do nothing returning true",
        account_id,
        key,
        code,
        at,
    )
    return bool(fresh)


_USE_CREDIT = "insert into credit_uses (ticket_id, account_id, used_at) values ($1, $2, $3)"


async def use_credit(conn: Connection, ticket_id: str, account_id: str, at: datetime) -> None:
    await conn.execute(_USE_CREDIT, ticket_id, account_id, at)


async def insert_ticket(conn: Connection, ticket: TicketRow, key: str | None) -> None:
    placeholders = ", ".join(f"${i}" for i in range(1, len(_COLUMNS) + 2))
    await conn.execute(
        f"insert into tickets ({TICKET_COLUMNS}, idempotency_key) values ({placeholders})",
        *_column_values(ticket, _COLUMNS),
        key,
    )


async def update_ticket(conn: Connection, ticket: TicketRow) -> None:
    sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(_MUTABLE, start=2))
    await conn.execute(
        f"update tickets set {sets} where ticket_id = $1",
        ticket.ticket_id,
        *_column_values(ticket, _MUTABLE),
    )


async def add_timeline(
    conn: Connection,
    ticket_id: str,
    at: datetime,
    type_: str,
    author: str | None = None,
    body: str | None = None,
    detail: dict[str, Any] | None = None,
    *,
    actor: str | None = None,
    internal: bool = False,
) -> None:
    await conn.execute(
        "insert into ticket_timeline (ticket_id, at, type, author, body, detail, actor,"
        " visibility) values ($1, $2, $3, $4, $5, $6, $7, $8)",
        ticket_id,
        at,
        type_,
        author,
        body,
        json.dumps(detail or {}),
        actor,
        "internal" if internal else "public",
    )


async def timeline(
    conn: Connection, ticket_id: str, *, internal: bool = True
) -> list[TimelineEntry]:
    """The ticket's history in order; without `internal`, only what the customer may see."""
    rows = await conn.fetch(
        "select at, type, author, actor, visibility, body, detail from ticket_timeline"
        " where ticket_id = $1 and ($2 or visibility = 'public') order by id",
        ticket_id,
        internal,
    )
    return [TimelineEntry(**{**r, "detail": json.loads(r["detail"])}) for r in rows]


async def record_sla_event(
    conn: Connection,
    ticket_id: str,
    target: str,
    cycle: int,
    kind: str,
    due: datetime,
    at: datetime,
    tier: str,
) -> bool:
    """Record a warning or breach; False when that target and cycle already had one."""
    inserted = await conn.fetchval(
        "insert into sla_events (ticket_id, target, cycle, kind, due_at, at, tier)"
        " values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing returning true",
        ticket_id,
        target,
        cycle,
        kind,
        due,
        at,
        tier,
    )
    return bool(inserted)


async def breached_targets(conn: Connection, ticket_id: str) -> set[str]:
    rows = await conn.fetch(
        "select distinct target from sla_events where ticket_id = $1 and kind = 'breach'",
        ticket_id,
    )
    return {r["target"] for r in rows}


async def open_tickets_of(conn: Connection, accounts: list[str]) -> list[TicketRow]:
    """Tickets not closed of these accounts, locked for the caller's transaction."""
    rows = await conn.fetch(
        f"select {TICKET_COLUMNS} from tickets where account_id = any($1::text[])"
        " and status <> 'closed' order by ticket_id for update",
        accounts,
    )
    return [ticket_of(r) for r in rows]


async def accounts_of_license_or_order(
    conn: Connection, license_id: str | None, order_id: str | None
) -> set[str]:
    """Accounts whose projected entitlement mentions this license or order."""
    rows = await conn.fetch(
        """
        select account_id from ent_licenses where license_id = $1
        union select account_id from ent_coverage where license_id = $1
        union select account_id from ent_support_plans where order_id = $2
        union select account_id from ent_credit_grants where order_id = $2
        """,
        license_id,
        order_id,
    )
    return {r["account_id"] for r in rows}


async def claim_due(
    conn: Connection, column: str, now: datetime, batch: int, *, strict: bool = False
) -> list[TicketRow]:
    """Tickets whose `column` (a due-work time) has come (`strict`: lies in the past),
    locked, skipping those another copy holds."""
    assert column in ("sla_check_at", "auto_close_at", "reevaluate_at")
    rows = await conn.fetch(
        f"select {TICKET_COLUMNS} from tickets where {column} {'<' if strict else '<='} $1"
        f" order by {column} limit $2 for update skip locked",
        now,
        batch,
    )
    return [ticket_of(r) for r in rows]


_BREACHED = (
    "exists (select 1 from sla_events b where b.ticket_id = t.ticket_id and b.kind = 'breach')"
)


async def list_tickets(
    conn: Connection, f: TicketFilter, limit: int, offset: int
) -> list[ListedTicket]:
    """Tickets passing the filter, the newest first."""
    where: list[str] = []
    args: list[Any] = []
    for column, value in (("account_id", f.account_id), ("status", f.status), ("tier", f.tier)):
        if value is not None:
            args.append(value)
            where.append(f"t.{column} = ${len(args)}")
    if f.breached is not None:
        where.append(("" if f.breached else "not ") + _BREACHED)
    args += [limit, offset]
    sql = (
        f"select {', '.join('t.' + c.strip() for c in TICKET_COLUMNS.split(','))},"
        f" {_BREACHED} as breached"
        " from tickets t"
        + (" where " + " and ".join(where) if where else "")
        + f" order by t.opened_at desc, t.number desc limit ${len(args) - 1}"
        f" offset ${len(args)}"
    )
    return [ListedTicket(ticket_of(r), r["breached"]) for r in await conn.fetch(sql, *args)]
