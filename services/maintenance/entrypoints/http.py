"""Maintenance's HTTP API (its field names are a contract)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from entitle_events.common import Line
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, PlainSerializer

from services.policy.catalog import Catalog
from services.policy.coverage import Period
from services.policy.lifecycle import coverage_state
from services.policy.renewal import RenewalQuote
from services.runtime.auth import Principal
from services.runtime.http import RuntimeDep, dependencies_of, errors, require

from ..domain.records import Coverage, ListedCode
from ..handlers import queries
from ..handlers.associations import Associate, associate
from ..handlers.offers import plan_of
from .dependencies import MaintenanceDependencies

router = APIRouter(tags=["coverage"])

Money = Annotated[Decimal, PlainSerializer(lambda d: f"{d:.2f}", return_type=str)]
Pct = Annotated[Decimal, PlainSerializer(lambda d: f"{d.normalize():f}", return_type=str)]
ReadPrincipal = Annotated[Principal, Depends(require("coverage:read"))]
WritePrincipal = Annotated[Principal, Depends(require("coverage:write"))]
Dependencies = Annotated[MaintenanceDependencies, Depends(dependencies_of(MaintenanceDependencies))]


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


class CodeList(BaseModel):
    items: list[ListedCode]
    next_offset: int | None = None


class AssociationIn(BaseModel):
    maintenance_code: Line = Field(min_length=1, max_length=100)
    license_key: Line = Field(min_length=1, max_length=1000)


REFUSAL_STATUS = {
    "LICENSE_NOT_FOUND": 404,
    "SKU_NOT_FOUND": 404,
    "RELEASE_NOT_FOUND": 404,
    "CODE_NOT_FOUND": 404,
    "FORBIDDEN": 403,
    "CODE_ALREADY_USED": 409,
    "CODE_REFUNDED": 409,
    "NOT_A_RENEWAL_SKU": 422,
    "INVALID_VERSION": 422,
    "UNKNOWN_PLAN": 422,
    "CODE_WRONG_PRODUCT": 422,
    "CODE_WRONG_EDITION": 422,
    # The plan's rules refusing an association (MaintenanceRefused).
    "LICENSE_NOT_ACTIVE": 422,
    "PERPETUAL_COVERAGE": 422,
    "VERSION_TOO_OLD": 422,
}


def coverage_view(
    catalog: Catalog, license: Coverage, periods: Sequence[Period], now: datetime
) -> CoverageView:
    plan = plan_of(catalog, license)
    state = coverage_state(plan, license.facts, periods, now)
    if license.perpetual and state.status != "ended":
        state_status, ends_at = "perpetual", None
    else:
        state_status, ends_at = state.status, state.ends_at
    return CoverageView(
        license_key=license.license_key,
        license_id=str(license.license_id),
        product=license.product,
        plan=license.plan,
        status=state_status,
        license_status=license.status,
        ends_at=ends_at if not license.perpetual else None,
        notice_at=state.notice_at,
        renew_until=state.renew_until,
        periods=[
            PeriodView(starts_at=p.starts_at, ends_at=p.ends_at, source=p.source) for p in periods
        ],
    )


@router.get("/coverage/{key}", response_model=CoverageView, responses=errors(401, 403, 404))
async def get_coverage(
    key: str, runtime: RuntimeDep, deps: Dependencies, principal: ReadPrincipal
) -> CoverageView:
    license, periods = await queries.visible(runtime.pool, principal, key)
    return coverage_view(deps.catalog, license, periods, runtime.clock.now())


@router.get("/renewal-quote", response_model=QuoteView, responses=errors(401, 403, 404))
async def get_renewal_quote(
    key: str,
    runtime: RuntimeDep,
    deps: Dependencies,
    principal: ReadPrincipal,
    sku: str | None = None,
) -> QuoteView:
    """What renewing costs today and when it would end; `sku` defaults to the plan's."""
    return QuoteView.of(
        await queries.renewal_quote(
            runtime.pool, deps.catalog, principal, key, sku, runtime.clock.now()
        )
    )


@router.get(
    "/eligibility",
    response_model=EligibilityView,
    response_model_exclude_none=True,
    responses=errors(401, 403, 404),
)
async def get_eligibility(
    key: str, version: str, runtime: RuntimeDep, deps: Dependencies, principal: ReadPrincipal
) -> EligibilityView:
    """May this license install `version`? With the renewal that would fix a refusal."""
    answer = await queries.eligibility(
        runtime.pool, deps.catalog, principal, key, version, runtime.clock.now()
    )
    return EligibilityView(
        entitled=answer.eligibility.entitled,
        code=answer.eligibility.code,
        detail=answer.eligibility.detail,
        version=str(answer.version),
        released_at=answer.released_at,
        renewal=QuoteView.of(answer.renewal) if answer.renewal is not None else None,
    )


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
    found = await queries.codes_of(runtime.pool, principal, account, unused, limit + 1, offset)
    return CodeList(
        items=found[:limit],
        next_offset=offset + limit if len(found) > limit else None,
    )


@router.post(
    "/associations",
    response_model=CoverageView,
    status_code=201,
    responses=errors(401, 403, 404, 409, 422),
)
async def post_association(
    body: AssociationIn, runtime: RuntimeDep, deps: Dependencies, principal: WritePrincipal
) -> CoverageView:
    """Attach a separately bought maintenance code to a license (once)."""
    command = Associate(
        code=body.maintenance_code, license_key=body.license_key, principal=principal
    )
    async with runtime.transaction() as ctx:
        license, periods = await associate(ctx, deps.catalog, command)
        now = ctx.now()
    return coverage_view(deps.catalog, license, periods, now)
