"""Scheduled work: renewal notices and the announcement of new majors.

Renewal notices: `coverage.expiring` at the notice date, `coverage.lapsed` at the end.

Each is sent once per (license, cover end): the `coverage_notices` row is written in the
transaction that emits the event, so a crash or a restart cannot send it twice, and a cover
extended later gets notices for its new end. Due licenses are claimed with
`FOR UPDATE SKIP LOCKED`, so several copies of the service can run the jobs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from entitle_events.maintenance import CoverageExpiring, CoverageLapsed, UpgradeAvailable

from services.policy.catalog import Catalog
from services.policy.coverage import Period
from services.policy.eligibility import Release, check_eligibility, parse_version
from services.policy.renewal import renewal_window_end
from services.runtime.context import Context
from services.runtime.service import Runtime

from ..adapters import coverage
from .offers import plan_of, quote, renewal_sku

BATCH: Final = 100
FANOUT_BATCH: Final = 200
NoticeKind = Literal["expiring", "lapsed"]

_DUE: Final = {
    # Still running at the notice date: the end has not come yet (else `lapsed` is due).
    "expiring": "c.notice_at <= $1 and c.ends_at > $1",
    "lapsed": "c.ends_at <= $1",
}


async def send_notices(runtime: Runtime, catalog: Catalog, kind: NoticeKind) -> int:
    """Send one batch of due notices of `kind`; the number sent."""
    now = runtime.clock.now()
    async with runtime.transaction() as ctx:
        rows = await ctx.conn.fetch(
            f"select c.* from coverage c where c.status = 'active' and not c.perpetual"
            f" and c.ends_at is not null and {_DUE[kind]}"
            " and not exists (select 1 from coverage_notices n where n.license_id ="
            " c.license_id and n.kind = $2 and n.period_end = c.ends_at)"
            " order by c.ends_at, c.license_id limit $3 for update of c skip locked",
            now,
            kind,
            BATCH,
        )
        for found in rows:
            row = dict(found)
            await ctx.conn.execute(
                "insert into coverage_notices (license_id, kind, period_end, sent_at)"
                " values ($1, $2, $3, $4)",
                row["license_id"],
                kind,
                row["ends_at"],
                now,
            )
            plan = plan_of(catalog, row)
            periods = await coverage.periods_of(ctx.conn, row["license_id"])
            subject = str(row["license_id"])
            if kind == "lapsed":
                ctx.emit(
                    CoverageLapsed(
                        **coverage.ref(row),
                        ended_at=row["ends_at"],
                        renew_until=renewal_window_end(plan, periods) if plan else None,
                    ),
                    subject=subject,
                )
                continue
            sku = renewal_sku(catalog, row["plan"])
            q = quote(catalog, row, periods, sku, now) if sku is not None else None
            ctx.emit(
                CoverageExpiring(
                    **coverage.ref(row),
                    ends_at=row["ends_at"],
                    renewal_price=q.price if q is not None and q.allowed else None,
                    renewal_list_price=q.list_price if q is not None and q.allowed else None,
                    currency=q.currency if q is not None and q.allowed else None,
                ),
                subject=subject,
            )
    return len(rows)


async def fan_out_release(runtime: Runtime, catalog: Catalog, batch: int = FANOUT_BATCH) -> int:
    """Announce one page of licenses of a queued new major; the number of licenses looked at.

    Covered licenses get UpgradeAvailable(entitled=True); licenses covered before but not
    at the release get it with entitled=False and the renewal offer. Licenses that were
    never covered, ended ones and those already on that major get nothing. Keyset pages
    (`license_id > cursor`) keep memory and transactions small whatever the license count.
    """
    now = runtime.clock.now()
    async with runtime.transaction() as ctx:
        job = await ctx.conn.fetchrow(
            "select f.*, r.released_at, r.major from release_fanouts f"
            " join releases r using (product, version) where f.done_at is null"
            " order by f.created_at limit 1 for update of f skip locked"
        )
        if job is None:
            return 0
        # The product's licenses and those of its add-ons, which are upgraded with their base.
        products = [job["product"]] + [
            p.code for p in catalog.products if p.base_product == job["product"]
        ]
        rows = await ctx.conn.fetch(
            "select * from coverage where product = any($1::text[]) and status = 'active'"
            " and ($2::uuid is null or license_id > $2) order by license_id limit $3",
            products,
            job["cursor"],
            batch,
        )
        release = Release(parse_version(job["version"]), job["released_at"], job["product"])
        bases = {
            b["license_id"]: dict(b)
            for b in await ctx.conn.fetch(
                "select * from coverage where license_id = any($1::uuid[])",
                [r["base_license_id"] for r in rows if r["base_license_id"] is not None],
            )
        }
        periods_by_license: dict[Any, list[Period]] = {}
        for p in await ctx.conn.fetch(
            "select license_id, starts_at, ends_at, source from coverage_periods"
            " where license_id = any($1::uuid[]) order by starts_at, id",
            [r["license_id"] for r in rows] + list(bases),
        ):
            periods_by_license.setdefault(p["license_id"], []).append(
                Period(p["starts_at"], p["ends_at"], p["source"])
            )
        announced = 0
        for found in rows:
            row = dict(found)
            base = bases.get(row["base_license_id"])
            rules = base if base is not None else row
            periods = periods_by_license.get(rules["license_id"], [])
            announced += _announce(ctx, catalog, row, base, periods, release, now)
        last = rows[-1]["license_id"] if rows else job["cursor"]
        await ctx.conn.execute(
            "update release_fanouts set cursor = $3, announced = announced + $4,"
            " done_at = $5 where product = $1 and version = $2",
            job["product"],
            job["version"],
            last,
            announced,
            now if len(rows) < batch else None,
        )
    return max(len(rows), 1)


def _announce(
    ctx: Context,
    catalog: Catalog,
    row: dict[str, Any],
    base: dict[str, Any] | None,
    periods: list[Period],
    release: Release,
    now: datetime,
) -> int:
    """Tell one license about `release`; for an add-on, `base` is its base license, whose
    status, major, plan and cover decide (and whose own announcement carries any renewal
    offer: an add-on is told only when it is entitled)."""
    rules = base if base is not None else row
    if row["base_license_id"] is not None and base is None:
        return 0  # an add-on whose base maintenance does not know
    if rules["major_version"] >= release.major:
        return 0
    plan = plan_of(catalog, rules)
    if not rules["perpetual"] and not periods:
        return 0
    answer = check_eligibility(
        coverage.facts(row),
        plan,
        periods,
        release,
        base=coverage.facts(base) if base is not None else None,
    )
    common = {**coverage.ref(row), "version": str(release.version)}
    if answer.entitled:
        ctx.emit(UpgradeAvailable(**common, entitled=True), subject=str(row["license_id"]))
        return 1
    if answer.code != "NOT_COVERED" or base is not None:
        return 0
    sku = renewal_sku(catalog, row["plan"])
    q = quote(catalog, row, periods, sku, now) if sku is not None else None
    ctx.emit(
        UpgradeAvailable(
            **common,
            entitled=False,
            renewal_sku=sku.code if sku is not None and q is not None and q.allowed else None,
            renewal_price=q.price if q is not None and q.allowed else None,
            currency=q.currency if q is not None and q.allowed else None,
        ),
        subject=str(row["license_id"]),
    )
    return 1
