"""The notification tables."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.runtime.db import Connection

from ..adapters.templates import Rendered


def delivery_id(event_id: uuid.UUID, template: str, recipient: str) -> uuid.UUID:
    """Stable per (event, template, recipient): the Message-ID derives from it."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"entitle:{event_id}:{template}:{recipient.lower()}")


async def record(
    conn: Connection,
    *,
    event_id: uuid.UUID,
    event_type: str,
    correlation_id: str | None,
    account_id: str | None,
    traceparent: str | None,
    template: str,
    recipient: str,
    transactional: bool,
    rendered: Rendered,
    domain: str,
    at: datetime,
) -> bool:
    ident = delivery_id(event_id, template, recipient)
    inserted = await conn.fetchval(
        "insert into deliveries (id, event_id, event_type, correlation_id, template, recipient,"
        " transactional, subject, body_text, body_html, message_id, next_attempt_at, created_at,"
        " traceparent, account_id)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14)"
        " on conflict do nothing returning true",
        ident,
        event_id,
        event_type,
        correlation_id,
        template,
        recipient,
        transactional,
        rendered.subject,
        rendered.text,
        rendered.html,
        f"<{ident}@{domain}>",
        at,
        traceparent,
        account_id,
    )
    return bool(inserted)


@dataclass(frozen=True)
class Claimed:
    """A delivery taken for sending, under a lease."""

    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    correlation_id: str | None
    account_id: str | None
    template: str
    recipient: str
    transactional: bool
    subject: str
    body_text: str
    body_html: str
    message_id: str
    attempts: int
    """Including this one: a delivery taken again after its sender died counts twice."""
    created_at: datetime
    traceparent: str | None
    lease_token: uuid.UUID
    suppressed: bool


async def claim_due(
    conn: Connection, now: datetime, limit: int, lease_seconds: float
) -> list[Claimed]:
    """Take due deliveries, and those whose sender's lease ran out, for one sender. The
    lease runs on the database's clock: it is about processes dying, not business time."""
    rows = await conn.fetch(
        "with due as (select id from deliveries where status = 'pending'"
        " and next_attempt_at <= $1 order by next_attempt_at limit $2 for update skip locked),"
        " abandoned as (select id from deliveries where status = 'sending'"
        " and lease_until < now() limit $2 for update skip locked)"
        " update deliveries d set status = 'sending', attempts = d.attempts + 1,"
        " lease_token = $3, lease_until = now() + make_interval(secs => $4)"
        " where d.id in (select id from due union all select id from abandoned)"
        " returning d.id, d.event_id, d.event_type, d.correlation_id, d.account_id, d.template,"
        " d.recipient, d.transactional, d.subject, d.body_text, d.body_html, d.message_id,"
        " d.attempts, d.created_at, d.traceparent, d.lease_token,"
        " exists (select 1 from suppressions s where s.email = lower(d.recipient)) as suppressed",
        now,
        limit,
        uuid.uuid4(),
        lease_seconds,
    )
    return [Claimed(**r) for r in rows]


@dataclass(frozen=True)
class Mark:
    """One sending outcome to record."""

    ident: uuid.UUID
    lease_token: uuid.UUID
    status: str
    at: datetime
    error: str | None = None
    code: int | None = None
    next_attempt_at: datetime | None = None


async def mark(conn: Connection, marks: Sequence[Mark]) -> set[uuid.UUID]:
    """Record outcomes in one statement; return the deliveries still held under the lease
    that sent them (a sender that lost its lease records nothing)."""
    rows = await conn.fetch(
        "update deliveries d set status = m.status, last_error = m.error, smtp_code = m.code,"
        " next_attempt_at = coalesce(m.next_attempt_at, d.next_attempt_at),"
        " sent_at = case when m.status = 'sent' then m.at else d.sent_at end,"
        " lease_token = null, lease_until = null"
        " from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int[],"
        " $6::timestamptz[], $7::timestamptz[]) as m(id, token, status, error, code,"
        " next_attempt_at, at)"
        " where d.id = m.id and d.lease_token = m.token and d.status = 'sending'"
        " returning d.id",
        [m.ident for m in marks],
        [m.lease_token for m in marks],
        [m.status for m in marks],
        [m.error for m in marks],
        [m.code for m in marks],
        [m.next_attempt_at for m in marks],
        [m.at for m in marks],
    )
    return {r["id"] for r in rows}


async def suppress(conn: Connection, email: str, reason: str, at: datetime) -> None:
    await conn.execute(
        "insert into suppressions (email, reason, created_at) values (lower($1), $2, $3)"
        " on conflict (email) do update set reason = excluded.reason",
        email,
        reason,
        at,
    )


async def search(
    pool: asyncpg.Pool, filters: dict[str, Any], limit: int, offset: int
) -> list[dict[str, Any]]:
    clauses, args = [], []
    for column, value in filters.items():
        if value is not None:
            args.append(value)
            clauses.append(f"{column} = ${len(args)}")
    where = f"where {' and '.join(clauses)}" if clauses else ""
    args += [limit, offset]
    rows = await pool.fetch(
        "select id, event_id, event_type, correlation_id, account_id, template, recipient,"
        " transactional, subject, message_id, status, attempts, last_error, smtp_code,"
        " created_at, sent_at"
        f" from deliveries {where} order by created_at desc, id"
        f" limit ${len(args) - 1} offset ${len(args)}",
        *args,
    )
    return [dict(r) for r in rows]


async def mailed_by_account(pool: asyncpg.Pool, email: str, account_id: str) -> bool:
    """Whether this account's mail went to the address (what an account-bound key may
    suppress)."""
    found = await pool.fetchval(
        "select exists (select 1 from deliveries where account_id = $1"
        " and lower(recipient) = lower($2))",
        account_id,
        email,
    )
    return bool(found)
