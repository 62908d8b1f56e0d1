"""SQL of the entitlement panel: what the projection knows about a ticket's customer."""

from __future__ import annotations

from datetime import datetime

from services.runtime.db import Connection

from ..domain.records import (
    Credits,
    LicenseWithCoverage,
    ProjectedCoverage,
    ProjectedLicense,
    SupportPlan,
)
from .projection import COVERAGE_COLUMNS, LICENSE_COLUMNS, record_of


async def licenses(conn: Connection, account_id: str, product: str) -> list[LicenseWithCoverage]:
    """The account's licenses of the product, with their maintenance coverage."""
    licensed = ", ".join(f"l.{c}" for c in LICENSE_COLUMNS)
    covered = ", ".join(f"c.{c} as c_{c}" for c in COVERAGE_COLUMNS)
    rows = await conn.fetch(
        f"select {licensed}, {covered} from ent_licenses l"
        " left join ent_coverage c on c.license_id = l.license_id"
        " where l.account_id = $1 and l.product = $2 order by l.purchased_at, l.license_id",
        account_id,
        product,
    )
    return [
        LicenseWithCoverage(
            record_of(ProjectedLicense, LICENSE_COLUMNS, r),
            None
            if r["c_license_id"] is None
            else record_of(ProjectedCoverage, COVERAGE_COLUMNS, r, prefix="c_"),
        )
        for r in rows
    ]


async def support_plans(conn: Connection, account_id: str, product: str) -> list[SupportPlan]:
    rows = await conn.fetch(
        "select order_id, line_id, starts_at, ends_at from ent_support_plans"
        " where account_id = $1 and product = $2 order by starts_at",
        account_id,
        product,
    )
    return [SupportPlan(**r) for r in rows]


async def credits(conn: Connection, account_id: str) -> Credits:
    """Incident credits granted to the account, and used by its tickets."""
    row = await conn.fetchrow(
        "select coalesce((select sum(credits) from ent_credit_grants where account_id = $1), 0)"
        " as granted, (select count(*) from credit_uses where account_id = $1) as used",
        account_id,
    )
    assert row is not None
    return Credits(int(row["granted"]), int(row["used"]))


async def partner_since(conn: Connection, account_id: str) -> datetime | None:
    value = await conn.fetchval("select since from ent_partners where account_id = $1", account_id)
    return value  # type: ignore[no-any-return]
