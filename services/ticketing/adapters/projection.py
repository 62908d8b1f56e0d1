"""SQL of the entitlement projection: licenses and their cover, incident credits, support
plans, partners and releases, each written a list of records in one statement."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, TypeVar

import asyncpg

from services.runtime.db import Connection

from ..domain.records import (
    CreditGrant,
    Partner,
    PlanGrant,
    ProjectedCoverage,
    ProjectedLicense,
    ProjectedRelease,
)

R = TypeVar("R")
# Each table's columns with their types, in the order of its record's fields.
LICENSE_COLUMNS = {
    "license_id": "text",
    "account_id": "text",
    "product": "text",
    "kind": "text",
    "status": "text",
    "purchased_at": "timestamptz",
    "expires_at": "timestamptz",
    "major_version": "int",
    "updated_at": "timestamptz",
    "license_key": "text",
    "edition": "text",
}
COVERAGE_COLUMNS = {
    "license_id": "text",
    "account_id": "text",
    "product": "text",
    "covered": "bool",
    "ends_at": "timestamptz",
    "perpetual": "bool",
    "updated_at": "timestamptz",
    "plan": "text",
}
_GRANT_COLUMNS = {"order_id": "text", "line_id": "text", "account_id": "text", "product": "text"}
_CREDIT_COLUMNS = {**_GRANT_COLUMNS, "credits": "int", "granted_at": "timestamptz"}
_PLAN_COLUMNS = {**_GRANT_COLUMNS, "starts_at": "timestamptz", "ends_at": "timestamptz"}
_PARTNER_COLUMNS = {"account_id": "text", "since": "timestamptz"}
_RELEASE_COLUMNS = {
    "product": "text",
    "version": "text",
    "major": "int",
    "released_at": "timestamptz",
}


def record_of(kind: type[R], columns: dict[str, str], row: asyncpg.Record, prefix: str = "") -> R:
    """A record of `kind` from the row's `columns` (named with `prefix`)."""
    return kind(**{c: row[prefix + c] for c in columns})


async def _locked(
    conn: Connection, kind: type[R], table: str, columns: dict[str, str], ids: Collection[str]
) -> dict[str, R]:
    """The rows of `table` among these license ids, locked for the caller's transaction."""
    rows = await conn.fetch(
        f"select {', '.join(columns)} from {table} where license_id = any($1::text[])"
        " order by license_id for update",
        list(ids),
    )
    return {r["license_id"]: record_of(kind, columns, r) for r in rows}


async def _insert(
    conn: Connection,
    table: str,
    columns: dict[str, str],
    records: Sequence[Any],
    conflict: str,
) -> None:
    """Insert the records (their fields named as `columns`) in one statement; `conflict`:
    what becomes of a row already there."""
    if not records:
        return
    arrays = ", ".join(f"${i}::{t}[]" for i, t in enumerate(columns.values(), start=1))
    await conn.execute(
        f"insert into {table} ({', '.join(columns)}) select * from unnest({arrays}) {conflict}",
        *([getattr(r, c) for r in records] for c in columns),
    )


def _overwrite(columns: dict[str, str]) -> str:
    kept = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "license_id")
    return f"on conflict (license_id) do update set {kept}"


async def licenses(conn: Connection, license_ids: Collection[str]) -> dict[str, ProjectedLicense]:
    return await _locked(conn, ProjectedLicense, "ent_licenses", LICENSE_COLUMNS, license_ids)


async def store_licenses(conn: Connection, found: Sequence[ProjectedLicense]) -> None:
    """Insert or overwrite these licenses."""
    await _insert(conn, "ent_licenses", LICENSE_COLUMNS, found, _overwrite(LICENSE_COLUMNS))


async def coverage(conn: Connection, license_ids: Collection[str]) -> dict[str, ProjectedCoverage]:
    return await _locked(conn, ProjectedCoverage, "ent_coverage", COVERAGE_COLUMNS, license_ids)


async def store_coverage(conn: Connection, found: Sequence[ProjectedCoverage]) -> None:
    """Insert or overwrite these covers."""
    await _insert(conn, "ent_coverage", COVERAGE_COLUMNS, found, _overwrite(COVERAGE_COLUMNS))


async def move_coverage(conn: Connection, accounts: dict[str, str], at: datetime) -> None:
    """The cover of each license (key) now belongs to its account (value)."""
    if not accounts:
        return
    await conn.execute(
        "update ent_coverage c set account_id = m.account_id, updated_at = $3"
        " from unnest($1::text[], $2::text[]) as m(license_id, account_id)"
        " where c.license_id = m.license_id",
        list(accounts),
        list(accounts.values()),
        at,
    )


async def add_partners(conn: Connection, partners: Sequence[Partner]) -> None:
    """Partners since these dates (one already known keeps its date)."""
    await _insert(conn, "ent_partners", _PARTNER_COLUMNS, partners, "on conflict do nothing")


async def grant_credits(conn: Connection, grants: Sequence[CreditGrant]) -> None:
    """Grants not recorded yet (an order line grants once)."""
    await _insert(conn, "ent_credit_grants", _CREDIT_COLUMNS, grants, "on conflict do nothing")


async def grant_plans(conn: Connection, grants: Sequence[PlanGrant]) -> None:
    """Plans not recorded yet (an order line grants once)."""
    await _insert(conn, "ent_support_plans", _PLAN_COLUMNS, grants, "on conflict do nothing")


async def withdraw_order(conn: Connection, order_id: str, line_ids: list[str] | None) -> None:
    """Drop the credits and plans an order's lines (None: all of them) granted."""
    for table in ("ent_credit_grants", "ent_support_plans"):
        await conn.execute(
            f"delete from {table} where order_id = $1"
            " and ($2::text[] is null or line_id = any($2::text[]))",
            order_id,
            line_ids,
        )


async def add_releases(conn: Connection, releases: Sequence[ProjectedRelease]) -> None:
    """Releases not known yet (a version is published once)."""
    await _insert(conn, "ent_releases", _RELEASE_COLUMNS, releases, "on conflict do nothing")


async def accounts_of_orders(conn: Connection, order_ids: list[str]) -> set[str]:
    """Accounts whose projected credits or plans come from these orders."""
    rows = await conn.fetch(
        "select account_id from ent_support_plans where order_id = any($1::text[])"
        " union select account_id from ent_credit_grants where order_id = any($1::text[])",
        order_ids,
    )
    return {r["account_id"] for r in rows}
