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
        " traceparent) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)"
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
    )
    return bool(inserted)


async def claim_due(conn: Connection, now: datetime, limit: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "select d.*, s.email is not null as suppressed from deliveries d"
        " left join suppressions s on s.email = lower(d.recipient)"
        " where d.status = 'pending' and d.next_attempt_at <= $1"
        " order by d.next_attempt_at limit $2 for update of d skip locked",
        now,
        limit,
    )
    return [dict(r) for r in rows]


@dataclass(frozen=True)
class Mark:
    """One sending outcome to record."""

    ident: uuid.UUID
    status: str
    at: datetime
    error: str | None = None
    code: int | None = None
    next_attempt_at: datetime | None = None


async def mark(conn: Connection, marks: Sequence[Mark]) -> None:
    """Record a batch's outcomes; `executemany` sends them in one round trip."""
    await conn.executemany(
        "update deliveries set status = $2, attempts = attempts + 1, last_error = $3,"
        " smtp_code = $4, next_attempt_at = coalesce($5, next_attempt_at),"
        " sent_at = case when $2 = 'sent' then $6 else sent_at end where id = $1",
        [(m.ident, m.status, m.error, m.code, m.next_attempt_at, m.at) for m in marks],
    )


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
        "select id, event_id, event_type, correlation_id, template, recipient, transactional,"
        " subject, message_id, status, attempts, last_error, smtp_code, created_at, sent_at"
        f" from deliveries {where} order by created_at desc, id"
        f" limit ${len(args) - 1} offset ${len(args)}",
        *args,
    )
    return [dict(r) for r in rows]
