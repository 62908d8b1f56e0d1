"""The notification tables: deliveries (every email, recorded first, sent later) and
suppressions. Each call reads or writes many rows in one statement."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from services.runtime.db import Connection

from ..domain.records import Claimed, Delivery, DeliveryFilter, Mark, NewDelivery, Suppression
from .rows import columns


def delivery_id(event_id: uuid.UUID, template: str, recipient: str) -> uuid.UUID:
    """Stable per (event, template, recipient): the Message-ID derives from it."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"entitle:{event_id}:{template}:{recipient.lower()}")


async def record(
    conn: Connection, emails: Sequence[NewDelivery], domain: str, at: datetime
) -> None:
    """Record emails in one statement; one already recorded (its event seen before) stays as
    it is."""
    if not emails:
        return
    idents = [delivery_id(e.event_id, e.template, e.recipient) for e in emails]
    await conn.execute(
        "insert into deliveries (id, message_id, next_attempt_at, created_at, event_id,"
        " event_type, correlation_id, template, recipient, transactional, subject, body_text,"
        " body_html, traceparent, account_id)"
        " select t.id, t.message_id, $3, $3, t.event_id, t.event_type, t.correlation_id,"
        " t.template, t.recipient, t.transactional, t.subject, t.body_text, t.body_html,"
        " t.traceparent, t.account_id"
        " from unnest($1::uuid[], $2::text[], $4::uuid[], $5::text[], $6::text[], $7::text[],"
        " $8::text[], $9::boolean[], $10::text[], $11::text[], $12::text[], $13::text[],"
        " $14::text[]) as t(id, message_id, event_id, event_type, correlation_id, template,"
        " recipient, transactional, subject, body_text, body_html, traceparent, account_id)"
        " on conflict do nothing",
        idents,
        [f"<{ident}@{domain}>" for ident in idents],
        at,
        *columns(
            emails,
            "event_id",
            "event_type",
            "correlation_id",
            "template",
            "recipient",
            "transactional",
            "subject",
            "body_text",
            "body_html",
            "traceparent",
            "account_id",
        ),
    )


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
        *columns(marks, "ident", "lease_token", "status", "error", "code", "next_attempt_at", "at"),
    )
    return {r["id"] for r in rows}


async def suppress(conn: Connection, suppressions: Sequence[Suppression], at: datetime) -> None:
    """Suppress addresses in one statement; an address already suppressed takes the new
    reason (the last one given, when an address comes twice)."""
    reasons = {s.email.lower(): s.reason for s in suppressions}
    if not reasons:
        return
    await conn.execute(
        "insert into suppressions (email, reason, created_at)"
        " select t.email, t.reason, $3::timestamptz from unnest($1::text[], $2::text[])"
        " as t(email, reason)"
        " on conflict (email) do update set reason = excluded.reason",
        list(reasons),
        list(reasons.values()),
        at,
    )


async def search(
    pool: asyncpg.Pool, wanted: DeliveryFilter, limit: int, offset: int
) -> list[Delivery]:
    columns = {
        "account_id": wanted.account_id,
        "recipient": wanted.recipient,
        "event_id::text": wanted.event_id,
        "template": wanted.template,
        "status": wanted.status,
        "correlation_id": wanted.correlation_id,
    }
    clauses, args = [], []
    for column, value in columns.items():
        if value is not None:
            args.append(value)
            clauses.append(f"{column} = ${len(args)}")
    where = f"where {' and '.join(clauses)}" if clauses else ""
    rows = await pool.fetch(
        "select id, event_id, event_type, correlation_id, account_id, template, recipient,"
        " transactional, subject, message_id, status, attempts, last_error, smtp_code,"
        " created_at, sent_at"
        f" from deliveries {where} order by created_at desc, id"
        f" limit ${len(args) + 1} offset ${len(args) + 2}",
        *args,
        limit,
        offset,
    )
    return [Delivery(**row) for row in rows]


async def mailed_by_account(conn: Connection, email: str, account_id: str) -> bool:
    """Whether this account's mail went to the address (what an account-bound key may
    suppress)."""
    found = await conn.fetchval(
        "select exists (select 1 from deliveries where account_id = $1"
        " and lower(recipient) = lower($2))",
        account_id,
        email,
    )
    return bool(found)
