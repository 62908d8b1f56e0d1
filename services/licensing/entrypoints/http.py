"""Licensing's HTTP API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar, cast

from entitle_events.common import Email, Line
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from services.runtime.auth import Principal
from services.runtime.context import Context
from services.runtime.errors import ApiError
from services.runtime.fast_routes import FastRequest, FastRoute
from services.runtime.http import MAX_OFFSET, RuntimeDep, dependencies_of, errors, require
from services.runtime.service import Runtime

from ..domain.keys import InvalidKey
from ..domain.records import DescribedLicense, License, LicenseFilter, Owner
from ..handlers import commands, queries, validation
from .dependencies import LicensingDependencies

router = APIRouter()
EMPTY_NOTICE = "You have not purchased licenses of this type"


class SigningKey(BaseModel):
    kid: str
    alg: str = "EdDSA"
    crv: str = "Ed25519"
    public_key: str = Field(description="Base64 of the raw 32-byte Ed25519 public key.")
    current: bool


class SigningKeys(BaseModel):
    keys: list[SigningKey]


class Activation(BaseModel):
    fingerprint: str
    platform: str
    hostname: str
    activated_at: datetime


class LicenseView(BaseModel):
    key: str
    license_id: str
    kind: str
    status: str
    product: str
    edition: str
    sku: str
    account_id: str
    company: str
    reseller_account_id: str | None
    pooled: bool
    order_id: str
    purchased_at: datetime
    major_version: int
    max_activations: int | None = Field(description="Null: unlimited (site license).")
    activations: list[Activation]
    expires_at: datetime | None
    auto_renew: bool
    maintenance_plan: str | None


class LicenseList(BaseModel):
    items: list[LicenseView]
    next_offset: int | None = None
    notice: str | None = None


class ActivationRequest(BaseModel):
    fingerprint: Line = Field(min_length=1, max_length=200)
    platform: Literal["windows", "macos", "linux"]
    hostname: Line = Field(min_length=1, max_length=255)


class ValidationRequest(BaseModel):
    key: Line = Field(min_length=1, max_length=1000)
    fingerprint: Line | None = Field(default=None, min_length=1, max_length=200)
    version: Line | None = Field(default=None, min_length=1, max_length=40)
    product: Line | None = Field(
        default=None, max_length=80, description="The product asking; a key for another fails."
    )
    edition: Line | None = Field(
        default=None, max_length=80, description="The installed edition; a cross-grade fails."
    )


class ValidationResult(BaseModel):
    valid: bool
    code: str
    detail: str
    license_id: str | None = None
    status: str | None = None
    expires_at: datetime | None = None


class OwnerRequest(BaseModel):
    account_id: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9._:@-]+$")
    company: Line = Field(min_length=1, max_length=200)
    email: Email


class StatusRequest(BaseModel):
    reason: Line = Field(default="", max_length=500)


class ReleaseRequest(BaseModel):
    product: Line = Field(min_length=1, max_length=80)
    version: Line = Field(min_length=1, max_length=40, examples=["6.0.0"])
    released_at: datetime


class ReleaseView(BaseModel):
    product: str
    version: str
    release_kind: Literal["maintenance", "update"]
    released_at: datetime


Dependencies = Annotated[LicensingDependencies, Depends(dependencies_of(LicensingDependencies))]


_COPIED = tuple(LicenseView.model_fields.keys() - {"key", "license_id", "activations"})
"""The view's fields that are the license's own, by the same name."""


def _view(described: DescribedLicense) -> LicenseView:
    license = described.license
    return LicenseView(
        key=license.license_key,
        license_id=str(license.license_id),
        activations=[Activation(**asdict(machine)) for machine in described.machines],
        **{name: getattr(license, name) for name in _COPIED},
    )


async def _views(runtime: Runtime, found: list[License]) -> list[LicenseView]:
    return [_view(d) for d in await queries.described(runtime.pool, found)]


@router.get("/.well-known/entitle-signing-key", response_model=SigningKeys, tags=["keys"])
async def signing_keys(dependencies: Dependencies) -> SigningKeys:
    ring = dependencies.keys
    return SigningKeys(
        keys=[
            SigningKey(kid=kid, public_key=public, current=kid == ring.key_id)
            for kid, public in ring.public_keys().items()
        ]
    )


@router.get(
    "/catalog",
    tags=["catalog"],
    summary="Products, editions, plans and SKUs",
    responses=errors(401, 403),
)
async def get_catalog(
    dependencies: Dependencies, _: Annotated[Principal, Depends(require("catalog:read"))]
) -> dict[str, Any]:
    return dependencies.catalog.model_dump(mode="json")


@router.post("/licenses/validate", response_model=ValidationResult, tags=["validation"])
async def validate_license(body: ValidationRequest, runtime: RuntimeDep) -> ValidationResult:
    """Answer whether a key is valid (for this machine and version). The key is its own
    credential; a forged key is refused before any database lookup."""
    return await answer_validation(runtime, body)


async def answer_validation(runtime: Runtime, body: ValidationRequest) -> ValidationResult:
    """Also served as a fast route (services/runtime/fast_routes.py): read-only."""
    dependencies = cast(LicensingDependencies, runtime.definition.dependencies)
    reads = dependencies.validation_reads
    checked = await validation.check_key(
        lambda lookup: reads.submit(runtime.pool, lookup),
        runtime.clock,
        dependencies.keys,
        dependencies.catalog,
        body.key,
        fingerprint=body.fingerprint,
        version=body.version,
        product=body.product,
        edition=body.edition,
    )
    verdict, found = checked.verdict, checked.license
    return ValidationResult(
        valid=verdict.valid,
        code=verdict.code,
        detail=verdict.detail,
        license_id=str(found.license_id) if found else None,
        status=found.status if found else None,
        expires_at=found.expires_at if found else None,
    )


def _verified(dependencies: LicensingDependencies, key: str) -> None:
    """A forged key costs no database lookup."""
    try:
        dependencies.keys.verify_key(key)
    except InvalidKey:
        raise ApiError(404, "LICENSE_NOT_FOUND", "no license has this key") from None


@router.post(
    "/licenses/{key}/activations",
    response_model=LicenseView,
    status_code=201,
    tags=["activations"],
    responses={
        200: {"model": LicenseView, "description": "This machine was already activated"},
        **errors(403, 404, 409),
    },
)
async def activate(
    key: str,
    body: ActivationRequest,
    runtime: RuntimeDep,
    dependencies: Dependencies,
    response: Response,
) -> LicenseView:
    """Activate this machine (the key is the credential). Activating it again is a no-op
    answered 200."""
    _verified(dependencies, key)
    command = commands.Activate(key, body.fingerprint, body.platform, body.hostname)
    async with runtime.transaction() as ctx:
        license, new = await commands.activate(ctx, dependencies.catalog, command)
    if not new:
        response.status_code = 200
    (view,) = await _views(runtime, [license])
    return view


@router.delete(
    "/licenses/{key}/activations/{fingerprint}",
    status_code=204,
    tags=["activations"],
    responses=errors(404),
)
async def deactivate_machine(
    key: str, fingerprint: str, runtime: RuntimeDep, dependencies: Dependencies
) -> None:
    """Free this machine's seat (the key is the credential)."""
    _verified(dependencies, key)
    async with runtime.transaction() as ctx:
        await commands.free_machine(ctx, commands.FreeMachine(key, fingerprint))


@router.get("/licenses", response_model=LicenseList, tags=["licenses"], responses=errors(401, 403))
async def list_licenses(
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require("licenses:read"))],
    account: str | None = None,
    kind: Annotated[
        Literal["commercial", "trial", "perpetual", "subscription", "msp", "nfr"] | None,
        Query(description="`commercial` is every kind but trial."),
    ] = None,
    state: Literal["valid", "expired"] | None = None,
    usage: Literal["used", "unused"] | None = None,
    auto_renew: bool | None = None,
    product: str | None = None,
    order: Annotated[str | None, Query(max_length=200, description="An order id.")] = None,
    email: Annotated[
        str | None, Query(max_length=320, description="The license's contact address.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> LicenseList:
    """The Management Console's view: filter by company, commercial/trial, valid/expired,
    used/unused and auto-renew."""
    wanted = LicenseFilter(
        viewer=principal.account_id,
        account=account,
        kind=kind,
        product=product,
        order_id=order,
        email=email,
        state=state,
        usage=usage,
        auto_renew=auto_renew,
    )
    page = await queries.license_page(runtime.pool, wanted, runtime.clock.now(), limit, offset)
    return LicenseList(
        items=[_view(d) for d in page.items],
        next_offset=page.next_offset,
        notice=EMPTY_NOTICE if page.none_of_this_type else None,
    )


@router.get(
    "/licenses/{key}",
    response_model=LicenseView,
    tags=["licenses"],
    responses=errors(401, 403, 404),
)
async def get_license(
    key: str,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require("licenses:read"))],
) -> LicenseView:
    return _view(await queries.license_for(runtime.pool, key, principal.account_id))


async def _file_reader(request: Request) -> Principal | None:
    """The license key is its own credential (as for activation): without an Authorization
    header the caller holds the key, and gets the key's own file. With one, the key's scopes
    and account decide."""
    if request.headers.get("authorization") is None:
        return None
    return await require("licenses:read")(request)


@router.get("/licenses/{key}/file", tags=["licenses"], responses=errors(401, 403, 404, 409))
async def license_file(
    key: str,
    runtime: RuntimeDep,
    dependencies: Dependencies,
    principal: Annotated[Principal | None, Depends(_file_reader)],
) -> dict[str, Any]:
    """A signed license file an installed product verifies offline
    (`entitle_events.license_file.verify_license_file`). An installed product holding only
    its key fetches it without an API key; the portal fetches it for the person signed in."""
    if principal is None:
        _verified(dependencies, key)
    return await queries.signed_license_file(
        runtime.pool,
        dependencies.keys,
        key,
        principal.account_id if principal else None,
        runtime.clock.now(),
        dependencies.license_file_valid_for,
    )


@router.get(
    "/releases",
    response_model=list[ReleaseView],
    tags=["releases"],
    responses=errors(401, 403),
)
async def list_releases(
    product: Annotated[str, Query(min_length=1, max_length=80)],
    runtime: RuntimeDep,
    _: Annotated[Principal, Depends(require("catalog:read"))],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ReleaseView]:
    """The versions published for a product, newest first."""
    return [
        ReleaseView(
            product=r.product,
            version=r.version,
            release_kind=r.release_kind,
            released_at=r.released_at,
        )
        for r in await queries.releases(runtime.pool, product, limit)
    ]


C = TypeVar("C")


async def _apply(
    runtime: Runtime,
    handler: Callable[[Context, C], Awaitable[License | list[License]]],
    command: C,
) -> list[LicenseView]:
    """Apply a command in one transaction; the licenses it changed, as they are now."""
    async with runtime.transaction() as ctx:
        changed = await handler(ctx, command)
    return await _views(runtime, changed if isinstance(changed, list) else [changed])


def _owner(body: OwnerRequest) -> Owner:
    return Owner(body.account_id, body.company, body.email)


@router.post(
    "/licenses/{key}/assign",
    response_model=LicenseView,
    tags=["resellers"],
    responses=errors(401, 403, 404, 409),
)
async def assign(
    key: str,
    body: OwnerRequest,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require("licenses:write"))],
) -> LicenseView:
    """Give a license from the reseller's pool to a company."""
    command = commands.Assign(key, principal.account_id, _owner(body))
    (view,) = await _apply(runtime, commands.assign, command)
    return view


@router.post(
    "/licenses/{key}/transfer",
    response_model=LicenseView,
    tags=["resellers"],
    responses=errors(401, 403, 404, 409),
)
async def transfer(
    key: str,
    body: OwnerRequest,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require("licenses:write"))],
) -> LicenseView:
    """Transfer one license the reseller bought to an end-user company."""
    command = commands.Transfer(key, principal.account_id, _owner(body))
    (view,) = await _apply(runtime, commands.transfer, command)
    return view


@router.post(
    "/orders/{order_id}/transfer",
    response_model=LicenseList,
    tags=["resellers"],
    responses=errors(401, 403, 404, 409),
)
async def transfer_order(
    order_id: str,
    body: OwnerRequest,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require("licenses:write"))],
) -> LicenseList:
    """Transfer every license of one order to an end-user company."""
    command = commands.TransferOrder(order_id, principal.account_id, _owner(body))
    return LicenseList(items=await _apply(runtime, commands.transfer_order, command))


def _status_route(
    name: str,
    summary: str,
    command: Callable[[str, str], C],
    handler: Callable[[Context, C], Awaitable[License]],
) -> None:
    async def change(
        key: str,
        runtime: RuntimeDep,
        _: Annotated[Principal, Depends(require("licenses:status"))],
        body: StatusRequest | None = None,
    ) -> LicenseView:
        (view,) = await _apply(runtime, handler, command(key, body.reason if body else ""))
        return view

    router.add_api_route(
        f"/licenses/{{key}}/{name}",
        change,
        methods=["POST"],
        response_model=LicenseView,
        tags=["lifecycle"],
        summary=summary,
        name=name,
        responses=errors(401, 403, 404, 409),
    )


_status_route(
    "suspend", "Suspend a license until it is reinstated", commands.Suspend, commands.suspend
)
_status_route("reinstate", "Reinstate a suspended license", commands.Reinstate, commands.reinstate)
_status_route("revoke", "Revoke a license for good", commands.Revoke, commands.revoke)
_status_route(
    "deactivate",
    "Deactivate an MSP or subscription license: it can no longer be used",
    commands.Deactivate,
    commands.deactivate,
)


@router.post(
    "/releases",
    response_model=ReleaseView,
    status_code=201,
    tags=["releases"],
    responses=errors(401, 403, 409),
)
async def publish_release(
    body: ReleaseRequest,
    runtime: RuntimeDep,
    dependencies: Dependencies,
    _: Annotated[Principal, Depends(require("releases:write"))],
) -> ReleaseView:
    if body.released_at.tzinfo is None:
        raise ApiError(422, "VALIDATION_ERROR", "released_at needs a time zone offset")
    command = commands.PublishRelease(body.product, body.version, body.released_at)
    async with runtime.transaction() as ctx:
        event = await commands.publish_release(ctx, dependencies.catalog, command)
    return ReleaseView(
        product=event.product,
        version=event.version,
        release_kind=event.release_kind,
        released_at=event.released_at,
    )


# The status of each refusal licensing's commands raise; any other refusal answers 409.
REFUSAL_STATUS = {
    "LICENSE_NOT_FOUND": 404,
    "ACTIVATION_NOT_FOUND": 404,
    "ORDER_NOT_FOUND": 404,
    "PLATFORM_NOT_LICENSED": 403,
    "UNKNOWN_PRODUCT": 422,
    "VERSION_INVALID": 422,
}


async def fast_validation(runtime: Runtime, request: FastRequest) -> ValidationResult:
    return await answer_validation(runtime, ValidationRequest.model_validate_json(request.body))


FAST_ROUTES = [FastRoute("POST", "/licenses/validate", fast_validation)]
