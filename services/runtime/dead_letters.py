"""Listing and replaying a service's dead letters.

Replay publishes the original record (key, value, headers) to its original topic again and
marks the row replayed in the same transaction, so running it twice replays nothing twice;
should a crash fall between the publish and the commit, the consumer's inbox drops the copy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from aiokafka import AIOKafkaProducer

from .outbox import unpack_headers


@dataclass(frozen=True)
class DeadLetter:
    id: int
    consumer: str
    topic: str
    partition: int
    offset: int
    event_id: str | None
    event_type: str | None
    error_class: str
    error_message: str
    created_at: datetime
    replayed_at: datetime | None


async def list_dead_letters(pool: asyncpg.Pool, include_replayed: bool = False) -> list[DeadLetter]:
    rows = await pool.fetch(
        'select id, consumer, topic, partition, "offset", event_id, event_type, error_class,'
        " error_message, created_at, replayed_at from dead_letters"
        " where $1 or replayed_at is null order by id",
        include_replayed,
    )
    return [DeadLetter(**dict(r)) for r in rows]


async def show_dead_letter(
    pool: asyncpg.Pool, dead_letter_id: int
) -> tuple[DeadLetter, dict[str, str], bytes | None] | None:
    """One dead letter with the original record's headers (decoded as text) and value."""
    row = await pool.fetchrow(
        'select id, consumer, topic, partition, "offset", event_id, event_type, error_class,'
        " error_message, created_at, replayed_at, headers, value from dead_letters where id = $1",
        dead_letter_id,
    )
    if row is None:
        return None
    fields = dict(row)
    headers = {
        k: v.decode("utf-8", "backslashreplace") for k, v in unpack_headers(fields.pop("headers"))
    }
    value = fields.pop("value")
    return DeadLetter(**fields), headers, value


def shown(letter: DeadLetter, headers: dict[str, str], value: bytes | None) -> dict[str, object]:
    """A dead letter as a document: its fields, the original headers and the value (JSON
    when it parses, else the text)."""
    body: object
    try:
        body = json.loads(value or b"")
    except ValueError:
        body = (value or b"").decode("utf-8", "backslashreplace")
    return {**letter.__dict__, "headers": headers, "value": body}


async def replay(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    *,
    ids: list[int] | None,
    topic_prefix: str = "",
    now: datetime,
) -> list[int]:
    """Replay the given dead letters (all pending ones when `ids` is None)."""
    replayed: list[int] = []
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "select id, topic, key, value, headers from dead_letters"
            " where replayed_at is null and ($1::bigint[] is null or id = any($1::bigint[]))"
            " order by id for update skip locked",
            ids,
        )
        for row in rows:
            await producer.send_and_wait(
                topic_prefix + row["topic"],
                value=row["value"],
                key=row["key"],
                headers=[
                    (k, v) for k, v in unpack_headers(row["headers"]) if not k.startswith("dlt_")
                ],
            )
            replayed.append(row["id"])
        await conn.execute(
            "update dead_letters set replayed_at = $2 where id = any($1::bigint[])", replayed, now
        )
    return replayed
