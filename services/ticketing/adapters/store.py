"""SQL of ticketing: entitlement facts from the projection, tickets and their timeline."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from services.policy.catalog import Catalog
from services.policy.lifecycle import DEFAULT_SUPPORT_MONTHS, is_supported
from services.policy.releases import Release
from services.runtime.db import Connection

from ..domain.lifecycle import Survey, Ticket
from ..domain.sla import Pause
from ..domain.tiers import EntitlementFacts

TICKET_COLUMNS = (
    "ticket_id, number, account_id, email, license_key, product, version, kind, subject, body,"
    " tier, status, opened_at, updated_at, first_response_due, awaiting_agent_since,"
    " sla_check_at, auto_close_at, state"
)


async def available_credits(conn: Connection, account_id: str) -> int:
    value = await conn.fetchval(
        "select coalesce((select sum(credits) from ent_credit_grants where account_id = $1), 0)"
        " - (select count(*) from credit_uses where account_id = $1)",
        account_id,
    )
    return max(int(value or 0), 0)


async def version_supported(
    conn: Connection, product: str, version: str, now: datetime, catalog: Catalog | None
) -> bool:
    """Support lifecycle (DESIGN §4.3): unknown until the product's releases are known."""
    rows = await conn.fetch(
        "select version, released_at from ent_releases where product = $1", product
    )
    if not rows:
        return True
    try:
        releases = [Release.of(r["version"], r["released_at"], product) for r in rows]
        major = Release.of(version, now).major
    except ValueError:
        return True
    known = catalog.product(product) if catalog is not None else None
    months = known.support_months_after_next_major if known else DEFAULT_SUPPORT_MONTHS
    return is_supported(major, releases, now, months)


async def entitlement_facts(
    conn: Connection,
    account_id: str,
    product: str,
    version: str,
    now: datetime,
    *,
    catalog: Catalog | None = None,
    setup_products: frozenset[str] = frozenset(),
) -> EntitlementFacts:
    row = await conn.fetchrow(
        """
        select
          exists (select 1 from ent_licenses where account_id = $1 and product = $2
                  and kind in ('subscription', 'msp') and status = 'active'
                  and (expires_at is null or expires_at > $3)) as subscription,
          exists (select 1 from ent_coverage c left join ent_licenses l using (license_id)
                  where c.account_id = $1 and c.product = $2 and c.covered
                  and (c.perpetual or c.ends_at > $3)
                  and coalesce(l.status, 'active') = 'active')
          or exists (select 1 from ent_support_plans where account_id = $1 and product = $2
                  and starts_at <= $3 and (ends_at is null or ends_at > $3)) as plan,
          (select max(purchased_at) from ent_licenses where account_id = $1 and product = $2
                  and kind = 'trial' and status not in ('revoked', 'deactivated'))
                  as registered_at,
          exists (select 1 from ent_partners where account_id = $1) as partner
        """,
        account_id,
        product,
        now,
    )
    assert row is not None
    return EntitlementFacts(
        has_active_plan=row["plan"],
        has_active_subscription=row["subscription"],
        incident_credits=await available_credits(conn, account_id),
        registered_at=row["registered_at"],
        is_partner=row["partner"],
        setup_assistance=product in setup_products,
        version_supported=await version_supported(conn, product, version, now, catalog),
    )


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


# -- tickets ----------------------------------------------------------------------------


async def ticket_by_number(
    conn: Connection, number: str, *, lock: bool = False
) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"select {TICKET_COLUMNS} from tickets where number = $1" + (" for update" if lock else ""),
        number,
    )
    return None if row is None else dict(row)


async def ticket_by_key(conn: Connection, account_id: str, key: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"select {TICKET_COLUMNS} from tickets where account_id = $1 and idempotency_key = $2",
        account_id,
        key,
    )
    return None if row is None else dict(row)


async def insert_ticket(conn: Connection, row: dict[str, Any], key: str | None) -> None:
    await conn.execute(
        "insert into tickets (ticket_id, number, account_id, email, license_key, product,"
        " version, kind, subject, body, tier, status, opened_at, updated_at,"
        " first_response_due, awaiting_agent_since, sla_check_at, auto_close_at, state,"
        " idempotency_key) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
        " $14, $15, $16, $17, $18, $19, $20)",
        row["ticket_id"],
        row["number"],
        row["account_id"],
        row["email"],
        row["license_key"],
        row["product"],
        row["version"],
        row["kind"],
        row["subject"],
        row["body"],
        row["tier"],
        row["status"],
        row["opened_at"],
        row["updated_at"],
        row["first_response_due"],
        row["awaiting_agent_since"],
        row["sla_check_at"],
        row["auto_close_at"],
        row["state"],
        key,
    )


async def update_ticket(conn: Connection, row: dict[str, Any]) -> None:
    await conn.execute(
        "update tickets set status = $2, updated_at = $3, awaiting_agent_since = $4,"
        " sla_check_at = $5, auto_close_at = $6, state = $7 where ticket_id = $1",
        row["ticket_id"],
        row["status"],
        row["updated_at"],
        row["awaiting_agent_since"],
        row["sla_check_at"],
        row["auto_close_at"],
        row["state"],
    )


async def add_timeline(
    conn: Connection,
    ticket_id: str,
    at: datetime,
    type_: str,
    author: str | None = None,
    body: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        "insert into ticket_timeline (ticket_id, at, type, author, body, detail)"
        " values ($1, $2, $3, $4, $5, $6)",
        ticket_id,
        at,
        type_,
        author,
        body,
        json.dumps(detail or {}),
    )


async def timeline(conn: Connection, ticket_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "select at, type, author, body, detail from ticket_timeline where ticket_id = $1"
        " order by id",
        ticket_id,
    )
    return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]


async def breached_targets(conn: Connection, ticket_id: str) -> set[str]:
    rows = await conn.fetch("select target from sla_breaches where ticket_id = $1", ticket_id)
    return {r["target"] for r in rows}


async def list_tickets(
    conn: Connection,
    *,
    account_id: str | None,
    status: str | None,
    tier: str | None,
    breached: bool | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    where: list[str] = []
    args: list[Any] = []
    for column, value in (("account_id", account_id), ("status", status), ("tier", tier)):
        if value is not None:
            args.append(value)
            where.append(f"t.{column} = ${len(args)}")
    if breached is not None:
        where.append(
            ("" if breached else "not ")
            + "exists (select 1 from sla_breaches b where b.ticket_id = t.ticket_id)"
        )
    args += [limit, offset]
    sql = (
        f"select {', '.join('t.' + c.strip() for c in TICKET_COLUMNS.split(','))},"
        " exists (select 1 from sla_breaches b where b.ticket_id = t.ticket_id) as breached"
        " from tickets t"
        + (" where " + " and ".join(where) if where else "")
        + f" order by t.opened_at desc, t.number desc limit ${len(args) - 1}"
        f" offset ${len(args)}"
    )
    return [dict(r) for r in await conn.fetch(sql, *args)]
