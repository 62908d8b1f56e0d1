"""Statements the services send to PostgreSQL, counted by pg_stat_statements."""

from __future__ import annotations

import asyncpg


async def reset(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("create extension if not exists pg_stat_statements")
        await conn.execute("select pg_stat_statements_reset()")
    finally:
        await conn.close()


async def per_database(database_url: str) -> dict[str, int]:
    """Statements executed since the reset, by service database (`entitle_<service>`)."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "select d.datname, sum(s.calls)::bigint as calls from pg_stat_statements s"
            " join pg_database d on d.oid = s.dbid where d.datname like 'entitle\\_%'"
            " group by d.datname"
        )
    finally:
        await conn.close()
    return {r["datname"].removeprefix("entitle_"): int(r["calls"]) for r in rows}
