"""PostgreSQL: one database per service, created on first start, migrated at every start."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import asyncpg

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    # What handlers get: a plain connection or one borrowed from the pool.
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
else:
    Connection = asyncpg.Connection

log = logging.getLogger(__name__)

RUNTIME_MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same in every copy of every service.
_MIGRATION_LOCK = 0x656E7469746C65


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def ensure_database(server_url: str, name: str) -> None:
    """Create the service's database if it does not exist yet."""
    conn = await asyncpg.connect(server_url, timeout=10)
    try:
        exists = await conn.fetchval("select 1 from pg_database where datname = $1", name)
        if not exists:
            try:
                await conn.execute(f'create database "{name}"')
                log.info("created database %s", name)
            except asyncpg.DuplicateDatabaseError:
                pass
    finally:
        await conn.close()


if TYPE_CHECKING:  # the stubs make Connection generic; at run time it is a plain class
    _BaseConnection = asyncpg.Connection[asyncpg.Record]
else:
    _BaseConnection = asyncpg.Connection


class _ClosedWhenLost(_BaseConnection):
    """A connection that closes itself when asyncpg loses track of its protocol state.

    When the server ends a session in the middle of a transaction (a terminated backend, a
    crash), asyncpg sometimes raises `InternalClientError` ("another operation is in
    progress") instead of seeing the connection closed, and the pool would hand the broken
    connection out again and again. Closing it here makes the next use a fresh connection.
    """

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return await self._closing_when_lost(super().execute(*args, **kwargs))

    async def executemany(self, *args: Any, **kwargs: Any) -> Any:
        return await self._closing_when_lost(super().executemany(*args, **kwargs))

    async def fetch(self, *args: Any, **kwargs: Any) -> Any:
        return await self._closing_when_lost(super().fetch(*args, **kwargs))

    async def fetchrow(self, *args: Any, **kwargs: Any) -> Any:
        return await self._closing_when_lost(super().fetchrow(*args, **kwargs))

    async def fetchval(self, *args: Any, **kwargs: Any) -> Any:
        return await self._closing_when_lost(super().fetchval(*args, **kwargs))

    async def _closing_when_lost(self, operation: Awaitable[Any]) -> Any:
        try:
            return await operation
        except asyncpg.InternalClientError:
            self.terminate()
            raise


async def create_pool(url: str, size: int) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        url,
        min_size=min(2, size),
        max_size=size,
        command_timeout=30,
        timeout=10,
        reset=_keep_session,
        connection_class=_ClosedWhenLost,
    )
    assert pool is not None
    return pool


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to reset when a connection returns to the pool: no session state outlives a use
    (advisory locks are transaction-scoped or released at once, LISTEN has its own
    connection). The default reset costs a round trip per use; asyncpg still rolls back an
    open transaction."""


async def migrate(pool: asyncpg.Pool, *directories: Path) -> list[str]:
    """Apply every `NNNN_*.sql` file not applied yet, in order, each in its own transaction.

    Several copies may start at once: an advisory lock lets one migrate while the others wait.
    """
    applied: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("select pg_advisory_lock($1)", _MIGRATION_LOCK)
        try:
            await conn.execute(
                "create table if not exists schema_migrations ("
                " name text primary key, applied_at timestamptz not null default now())"
            )
            for name, path in await _pending(conn, directories):
                async with conn.transaction():
                    await conn.execute(path.read_text())
                    await conn.execute("insert into schema_migrations(name) values ($1)", name)
                applied.append(name)
                log.info("applied migration %s", name)
        finally:
            await conn.execute("select pg_advisory_unlock($1)", _MIGRATION_LOCK)
    return applied


async def pending_migrations(pool: asyncpg.Pool, *directories: Path) -> list[str]:
    """Migrations not applied yet (all of them on a database never migrated)."""
    async with pool.acquire() as conn:
        exists = await conn.fetchval("select to_regclass('schema_migrations') is not null")
        if not exists:
            return [name for name, _ in _files(directories)]
        return [name for name, _ in await _pending(conn, directories)]


async def _pending(conn: Connection, directories: tuple[Path, ...]) -> list[tuple[str, Path]]:
    done = {r["name"] for r in await conn.fetch("select name from schema_migrations")}
    return [(name, path) for name, path in _files(directories) if name not in done]


def _files(directories: tuple[Path, ...]) -> list[tuple[str, Path]]:
    return [
        (f"{directory.parent.name}/{path.name}", path)
        for directory in directories
        for path in sorted(directory.glob("*.sql"))
    ]
