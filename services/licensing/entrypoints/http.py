"""Licensing's HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from services.runtime.auth import Principal
from services.runtime.errors import ApiError
from services.runtime.http import RuntimeDep, require

from ..adapters import licenses
from ..domain.keys import KeyRing

router = APIRouter(tags=["licenses"])


class SigningKey(BaseModel):
    kid: str
    alg: str = "EdDSA"
    crv: str = "Ed25519"
    public_key: str
    current: bool


class SigningKeys(BaseModel):
    keys: list[SigningKey]


class LicenseView(BaseModel):
    key: str
    license_id: str
    kind: str
    status: str
    product: str
    edition: str
    account_id: str
    company: str
    order_id: str
    purchased_at: datetime
    major_version: int
    max_activations: int | None
    activations: list[dict[str, str]]
    expires_at: datetime | None
    auto_renew: bool
    maintenance_plan: str | None


@router.get("/.well-known/entitle-signing-key", response_model=SigningKeys, tags=["keys"])
async def signing_keys(runtime: RuntimeDep) -> SigningKeys:
    ring: KeyRing = runtime.state["keys"]
    return SigningKeys(
        keys=[
            SigningKey(kid=kid, public_key=public, current=kid == ring.key_id)
            for kid, public in ring.public_keys().items()
        ]
    )


@router.get("/licenses/{key}", response_model=LicenseView)
async def get_license(
    key: str,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require("licenses:read"))],
) -> LicenseView:
    row = await licenses.get_by_key(runtime.pool, key)
    if row is None or not principal.may_see(row["account_id"]):
        raise ApiError(404, "LICENSE_NOT_FOUND", "no license has this key")
    return LicenseView(
        key=row["license_key"],
        license_id=str(row["license_id"]),
        kind=row["kind"],
        status=row["status"],
        product=row["product"],
        edition=row["edition"],
        account_id=row["account_id"],
        company=row["company"],
        order_id=row["order_id"],
        purchased_at=row["purchased_at"],
        major_version=row["major_version"],
        max_activations=row["max_activations"],
        activations=[],
        expires_at=row["expires_at"],
        auto_renew=row["auto_renew"],
        maintenance_plan=row["maintenance_plan"],
    )
