"""Maintenance's HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from services.runtime.auth import Principal
from services.runtime.errors import ApiError
from services.runtime.http import RuntimeDep, require

from ..adapters import coverage
from ..domain.coverage import coverage_end

router = APIRouter(tags=["coverage"])


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
    ends_at: datetime | None
    periods: list[PeriodView]


@router.get("/coverage/{key}", response_model=CoverageView)
async def get_coverage(
    key: str,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require("coverage:read"))],
) -> CoverageView:
    found = await coverage.get_by_key(runtime.pool, key)
    if found is None or not principal.may_see(found[0]["account_id"]):
        raise ApiError(404, "LICENSE_NOT_FOUND", "maintenance knows no license with this key")
    row, periods = found
    ends_at = None if row["perpetual"] else coverage_end(periods)
    now = runtime.clock.now()
    if row["perpetual"]:
        status = "perpetual"
    elif ends_at is None:
        status = "none"
    else:
        status = "active" if any(p.starts_at <= now < p.ends_at for p in periods) else "lapsed"
    return CoverageView(
        license_key=row["license_key"],
        license_id=str(row["license_id"]),
        product=row["product"],
        plan=row["plan"],
        status=status,
        ends_at=ends_at,
        periods=[
            PeriodView(starts_at=p.starts_at, ends_at=p.ends_at, source=p.source) for p in periods
        ],
    )
