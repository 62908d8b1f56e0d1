"""Maintenance's HTTP API (its field names are a contract)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from entitle_events.common import CoveragePeriod, Line
from entitle_events.maintenance import CoverageExtended
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, PlainSerializer

from services.policy.catalog import Catalog
from services.policy.coverage import Period, coverage_end
from services.policy.eligibility import Release, check_eligibility, parse_version, renewal_would_fix
from services.policy.lifecycle import coverage_state
from services.policy.renewal import (
    MaintenanceRefused,
    RenewalQuote,
    association_period,
    governing_plan,
    maintains,
)
from services.runtime.auth import Principal
from services.runtime.errors import ApiError
from services.runtime.http import RuntimeDep, errors, require
from services.runtime.service import Runtime

from ..adapters import coverage
from ..handlers.offers import plan_of, quote, renewal_sku

router = APIRouter(tags=["coverage"])

Money = Annotated[Decimal, PlainSerializer(lambda d: f"{d:.2f}", return_type=str)]
Pct = Annotated[Decimal, PlainSerializer(lambda d: f"{d.normalize():f}", return_type=str)]
ReadPrincipal = Annotated[Principal, Depends(require("coverage:read"))]
WritePrincipal = Annotated[Principal, Depends(require("coverage:write"))]


class PeriodView(BaseModel):
    starts_at: datetime
    ends_at: datetime
    source: str


class CoverageView(BaseModel):
    license_key: str
    license_id: str
    product: str
    plan: str | None
    status: str
    license_status: str
    ends_at: datetime | None
    notice_at: datetime | None
    renew_until: datetime | None
    periods: list[PeriodView]


class QuoteView(BaseModel):
    allowed: bool
    code: str
    sku: str | None
    list_price: Money
    price: Money | None
    discount_pct: Pct
    starts_at: datetime | None
    ends_at: datetime | None
    currency: str
    term_months: int
    reason: str

    @classmethod
    def of(cls, q: RenewalQuote) -> QuoteView:
        return cls(
            allowed=q.allowed,
            code=q.code,
            sku=q.sku,
            list_price=q.list_price,
            price=q.price,
            discount_pct=q.discount_pct,
            starts_at=q.starts_at,
            ends_at=q.ends_at,
            currency=q.currency,
            term_months=q.term_months,
            reason=q.reason,
        )


class EligibilityView(BaseModel):
    entitled: bool
    code: str
    detail: str
    version: str
    released_at: datetime
    renewal: QuoteView | None = Field(
        default=None, description="The renewal that would make the release entitled, if any."
    )


class CodeView(BaseModel):
    code: str
    sku: str
    plan: str
    product: str
    term_months: int
    order_id: str
    account_id: str
    bought_at: datetime
    used_at: datetime | None
    used_by_license_key: str | None


class CodeList(BaseModel):
    items: list[CodeView]
    next_offset: int | None = None


class AssociationIn(BaseModel):
    maintenance_code: Line = Field(min_length=1, max_length=100)
    license_key: Line = Field(min_length=1, max_length=1000)


def _catalog(runtime: Runtime) -> Catalog:
    catalog: Catalog = runtime.state["catalog"]
    return catalog


def _not_found() -> ApiError:
    return ApiError(404, "LICENSE_NOT_FOUND", "maintenance knows no license with this key")


async def _visible(
    runtime: Runtime, principal: Principal, key: str
) -> tuple[dict[str, Any], list[Period]]:
    found = await coverage.get_by_key(runtime.pool, key)
    if found is None or not _may_see(principal, found[0]):
        raise _not_found()
    return found


def _may_see(principal: Principal, row: dict[str, Any]) -> bool:
    """An account-bound key sees its own licenses and, for a reseller, those it sold."""
    return principal.may_see_any((row["account_id"], row.get("reseller_account_id")))


def coverage_view(
    catalog: Catalog, row: dict[str, Any], periods: Sequence[Period], now: datetime
) -> CoverageView:
    plan = plan_of(catalog, row)
    state = coverage_state(plan, coverage.facts(row), periods, now)
    if row["perpetual"] and state.status != "ended":
        state_status, ends_at = "perpetual", None
    else:
        state_status, ends_at = state.status, state.ends_at
    return CoverageView(
        license_key=row["license_key"],
        license_id=str(row["license_id"]),
        product=row["product"],
        plan=row["plan"],
        status=state_status,
        license_status=row["status"],
        ends_at=ends_at if not row["perpetual"] else None,
        notice_at=state.notice_at,
        renew_until=state.renew_until,
        periods=[
            PeriodView(starts_at=p.starts_at, ends_at=p.ends_at, source=p.source) for p in periods
        ],
    )


@router.get("/coverage/{key}", response_model=CoverageView, responses=errors(401, 403, 404))
async def get_coverage(key: str, runtime: RuntimeDep, principal: ReadPrincipal) -> CoverageView:
    row, periods = await _visible(runtime, principal, key)
    return coverage_view(_catalog(runtime), row, periods, runtime.clock.now())


@router.get("/renewal-quote", response_model=QuoteView, responses=errors(401, 403, 404))
async def get_renewal_quote(
    key: str, runtime: RuntimeDep, principal: ReadPrincipal, sku: str | None = None
) -> QuoteView:
    """What renewing costs today and when it would end; `sku` defaults to the plan's."""
    catalog = _catalog(runtime)
    row, periods = await _visible(runtime, principal, key)
    chosen = catalog.sku(sku) if sku else renewal_sku(catalog, row["plan"])
    if chosen is None:
        raise ApiError(404, "SKU_NOT_FOUND", f"no maintenance SKU {sku or 'renews this plan'}")
    if chosen.kind != "maintenance":
        raise ApiError(422, "NOT_A_RENEWAL_SKU", f"{chosen.code} is not a maintenance SKU")
    return QuoteView.of(quote(catalog, row, periods, chosen, runtime.clock.now()))


@router.get(
    "/eligibility",
    response_model=EligibilityView,
    response_model_exclude_none=True,
    responses=errors(401, 403, 404),
)
async def get_eligibility(
    key: str, version: str, runtime: RuntimeDep, principal: ReadPrincipal
) -> EligibilityView:
    """May this license install `version`? With the renewal that would fix a refusal."""
    catalog = _catalog(runtime)
    row, periods = await _visible(runtime, principal, key)
    try:
        parsed = parse_version(version)
    except ValueError as exc:
        raise ApiError(422, "INVALID_VERSION", str(exc)) from exc
    product = catalog.release_product(row["product"])  # an add-on's versions are its base's
    rel = await runtime.pool.fetchrow(
        "select released_at from releases where product = $1"
        " and major = $2 and minor = $3 and patch = $4",
        product,
        parsed.major,
        parsed.minor,
        parsed.patch,
    )
    if rel is None:
        raise ApiError(404, "RELEASE_NOT_FOUND", f"{product} {parsed} has not been published")
    release = Release(parsed, rel["released_at"], product)
    # An add-on follows its base license: the base's status, major, plan and cover decide.
    rules_row, rules_periods = row, periods
    base = None
    if row.get("base_license_id") is not None:
        found = await coverage.get_by_id(runtime.pool, row["base_license_id"])
        if found is not None:
            rules_row, rules_periods = found
            base = coverage.facts(rules_row)
    answer = check_eligibility(
        coverage.facts(row), plan_of(catalog, rules_row), rules_periods, release, base=base
    )
    view = EligibilityView(
        entitled=answer.entitled,
        code=answer.code,
        detail=answer.detail,
        version=str(parsed),
        released_at=release.released_at,
    )
    sku = renewal_sku(catalog, rules_row["plan"])
    if answer.fixable_by_coverage and sku is not None:
        q = quote(catalog, rules_row, rules_periods, sku, runtime.clock.now())
        if renewal_would_fix(answer, release, q):
            view.renewal = QuoteView.of(q)
    return view


@router.get("/maintenance-codes", response_model=CodeList, responses=errors(401, 403))
async def list_codes(
    runtime: RuntimeDep,
    principal: ReadPrincipal,
    account: str | None = None,
    unused: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CodeList:
    """Maintenance codes bought separately (seed 002's "Associate maintenance" list); an
    account-bound key sees its own account's codes."""
    if principal.account_id is not None:
        if account is not None and account != principal.account_id:
            raise ApiError(403, "FORBIDDEN", "this API key sees only its own account")
        account = principal.account_id
    rows = await coverage.codes_of(runtime.pool, account, unused, limit + 1, offset)
    return CodeList(
        items=[CodeView(**r) for r in rows[:limit]],
        next_offset=offset + limit if len(rows) > limit else None,
    )


@router.post(
    "/associations",
    response_model=CoverageView,
    status_code=201,
    responses=errors(401, 403, 404, 409, 422),
)
async def post_association(
    body: AssociationIn, runtime: RuntimeDep, principal: WritePrincipal
) -> CoverageView:
    """Attach a separately bought maintenance code to a license (once)."""
    catalog = _catalog(runtime)
    code_text = body.maintenance_code.strip().upper()
    async with runtime.transaction() as ctx:
        found = await coverage.lock_by_key(ctx.conn, body.license_key)
        if found is None or not _may_see(principal, found[0]):
            raise _not_found()
        row, periods = found
        code = await ctx.conn.fetchrow(
            "select * from maintenance_codes where code = $1 for update", code_text
        )
        if code is None:
            raise ApiError(404, "CODE_NOT_FOUND", "no maintenance code like this was sold")
        if code["used_by_license"] is not None:
            raise ApiError(
                409, "CODE_ALREADY_USED", "this maintenance code is already attached to a license"
            )
        if code["refunded_at"] is not None:
            raise ApiError(409, "CODE_REFUNDED", "this maintenance code was refunded")
        license = coverage.facts(row)
        mismatch = maintains(code["product"], code["edition"], license)
        if mismatch is not None:
            raise ApiError(422, f"CODE_{mismatch[0]}", mismatch[1])
        plan = governing_plan(catalog, row["plan"], code["plan"])
        code_plan = catalog.plan(code["plan"])
        if plan is None or code_plan is None:
            raise ApiError(422, "UNKNOWN_PLAN", f"maintenance plan {code['plan']} is unknown")
        now = ctx.now()
        try:
            period = association_period(
                plan,
                periods,
                min(code["bought_at"], now),
                now,
                term_months=code["term_months"] or code_plan.term_months,
                license=license,
            )
        except MaintenanceRefused as exc:
            raise ApiError(422, exc.code, exc.reason) from exc
        if row["plan"] is None:
            await coverage.set_plan(ctx.conn, row["license_id"], plan.code)
            row["plan"] = plan.code
        await ctx.conn.execute(
            "update maintenance_codes set used_by_license = $2, used_at = $3 where code = $1",
            code_text,
            row["license_id"],
            now,
        )
        await coverage.add_periods(
            ctx.conn, row["license_id"], [period], code["order_id"], code["line_id"]
        )
        await coverage.refresh_end(ctx.conn, row["license_id"], plan)
        periods.append(period)
        ctx.emit(
            CoverageExtended(
                **coverage.ref(row),
                plan=plan.code,
                order_id=code["order_id"],
                period=CoveragePeriod(
                    starts_at=period.starts_at, ends_at=period.ends_at, source=period.source
                ),
                ends_at=coverage_end(periods),
            ),
            subject=str(row["license_id"]),
        )
    return coverage_view(catalog, row, periods, now)
