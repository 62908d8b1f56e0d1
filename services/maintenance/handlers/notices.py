"""Scheduled work: renewal notices and the announcement of new majors.

Renewal notices: `coverage.expiring` at the notice date, `coverage.lapsed` at the end.

Each is sent once per (license, cover end): the `coverage_notices` row is written in the
transaction that emits the event, so a crash or a restart cannot send it twice, and a cover
extended later gets notices for its new end. Due licenses are claimed with
`FOR UPDATE SKIP LOCKED`, so several copies of the service can run the jobs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

from entitle_events.maintenance import CoverageExpiring, CoverageLapsed, UpgradeAvailable

from services.policy.catalog import Catalog
from services.policy.coverage import Period
from services.policy.eligibility import Release, check_eligibility, parse_version
from services.policy.renewal import renewal_window_end
from services.runtime.context import Context, Transactions

from ..adapters import coverage, releases
from ..domain.records import Coverage
from .offers import plan_of, quote, renewal_sku

BATCH: Final = 100
FANOUT_BATCH: Final = 200
NoticeKind = Literal["expiring", "lapsed"]


async def send_notices(transactions: Transactions, catalog: Catalog, kind: NoticeKind) -> int:
    """Send one batch of due notices of `kind`; the number sent."""
    now = transactions.clock.now()
    async with transactions.transaction() as ctx:
        due = await coverage.due_for_notice(ctx.conn, kind, now, BATCH)
        await coverage.record_notices(ctx.conn, kind, due, now)
        periods_by_license = await coverage.periods_of(ctx.conn, [c.license_id for c in due])
        for license in due:
            assert license.ends_at is not None  # only a cover that ends is due
            plan = plan_of(catalog, license)
            periods = periods_by_license.get(license.license_id, [])
            subject = str(license.license_id)
            if kind == "lapsed":
                ctx.emit(
                    CoverageLapsed(
                        **license.ref,
                        ended_at=license.ends_at,
                        renew_until=renewal_window_end(plan, periods) if plan else None,
                    ),
                    subject=subject,
                )
                continue
            sku = renewal_sku(catalog, license.plan)
            q = quote(catalog, license, periods, sku, now) if sku is not None else None
            ctx.emit(
                CoverageExpiring(
                    **license.ref,
                    ends_at=license.ends_at,
                    renewal_price=q.price if q is not None and q.allowed else None,
                    renewal_list_price=q.list_price if q is not None and q.allowed else None,
                    currency=q.currency if q is not None and q.allowed else None,
                ),
                subject=subject,
            )
    return len(due)


async def fan_out_release(
    transactions: Transactions, catalog: Catalog, batch: int = FANOUT_BATCH
) -> int:
    """Announce one page of licenses of a queued new major; the number of licenses looked at.

    Covered licenses get UpgradeAvailable(entitled=True); licenses covered before but not
    at the release get it with entitled=False and the renewal offer. Licenses that were
    never covered, ended ones and those already on that major get nothing. Keyset pages
    (`license_id > cursor`) keep memory and transactions small whatever the license count.
    """
    now = transactions.clock.now()
    async with transactions.transaction() as ctx:
        fanout = await releases.next_fanout(ctx.conn)
        if fanout is None:
            return 0
        # The product's licenses and those of its add-ons, which are upgraded with their base.
        products = [fanout.product] + [
            p.code for p in catalog.products if p.base_product == fanout.product
        ]
        page = await coverage.active_page(ctx.conn, products, fanout.cursor, batch)
        release = Release(parse_version(fanout.version), fanout.released_at, fanout.product)
        bases = await coverage.by_ids(
            ctx.conn, {c.base_license_id for c in page if c.base_license_id is not None}
        )
        periods_by_license = await coverage.periods_of(
            ctx.conn, [c.license_id for c in page] + list(bases)
        )
        announced = 0
        for license in page:
            base = bases.get(license.base_license_id) if license.base_license_id else None
            rules = base if base is not None else license
            periods = periods_by_license.get(rules.license_id, [])
            announced += _announce(ctx, catalog, license, base, periods, release, now)
        await releases.advance_fanout(
            ctx.conn,
            fanout,
            page[-1].license_id if page else fanout.cursor,
            announced,
            now if len(page) < batch else None,
        )
    return max(len(page), 1)


def _announce(
    ctx: Context,
    catalog: Catalog,
    license: Coverage,
    base: Coverage | None,
    periods: list[Period],
    release: Release,
    now: datetime,
) -> int:
    """Tell one license about `release`; for an add-on, `base` is its base license, whose
    status, major, plan and cover decide (and whose own announcement carries any renewal
    offer: an add-on is told only when it is entitled)."""
    rules = base if base is not None else license
    if license.base_license_id is not None and base is None:
        return 0  # an add-on whose base maintenance does not know
    if rules.major_version >= release.major:
        return 0
    plan = plan_of(catalog, rules)
    if not rules.perpetual and not periods:
        return 0
    answer = check_eligibility(
        license.facts,
        plan,
        periods,
        release,
        base=base.facts if base is not None else None,
    )
    common = {**license.ref, "version": str(release.version)}
    if answer.entitled:
        ctx.emit(UpgradeAvailable(**common, entitled=True), subject=str(license.license_id))
        return 1
    if answer.code != "NOT_COVERED" or base is not None:
        return 0
    sku = renewal_sku(catalog, license.plan)
    q = quote(catalog, license, periods, sku, now) if sku is not None else None
    ctx.emit(
        UpgradeAvailable(
            **common,
            entitled=False,
            renewal_sku=sku.code if sku is not None and q is not None and q.allowed else None,
            renewal_price=q.price if q is not None and q.allowed else None,
            currency=q.currency if q is not None and q.allowed else None,
        ),
        subject=str(license.license_id),
    )
    return 1
