"""Licensing's HTTP API."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from entitle_events.common import Email, Line
from entitle_events.license_file import FORMAT, canonical
from entitle_events.versions import Version
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from services.policy.catalog import Catalog
from services.runtime.auth import Principal
from services.runtime.errors import ApiError
from services.runtime.fast_routes import FastRoute
from services.runtime.http import MAX_OFFSET, RuntimeDep, errors, require
from services.runtime.service import Runtime

from ..adapters import licenses
from ..domain.keys import InvalidKey, KeyRing
from ..domain.validation import (
    NOT_FOUND,
    CoverageFacts,
    LicenseFacts,
    claims_mismatch,
    validate,
)
from ..handlers import commands
from ..settings import LicensingSettings

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


def _keys(runtime: Runtime) -> KeyRing:
    ring: KeyRing = runtime.state["keys"]
    return ring


def _catalog(runtime: Runtime) -> Catalog:
    catalog: Catalog = runtime.state["catalog"]
    return catalog


def _visible(principal: Principal, row: dict[str, Any]) -> bool:
    """An account-bound key sees its own licenses and, for a reseller, those it sold."""
    return principal.account_id is None or principal.account_id in (
        row["account_id"],
        row["reseller_account_id"],
    )


async def _view(runtime: Runtime, row: dict[str, Any]) -> LicenseView:
    activations = await licenses.activations_of(runtime.pool, row["license_id"])
    return _to_view(row, [Activation(**a) for a in activations])


def _to_view(row: dict[str, Any], activations: list[Activation]) -> LicenseView:
    return LicenseView(
        key=row["license_key"],
        license_id=str(row["license_id"]),
        kind=row["kind"],
        status=row["status"],
        product=row["product"],
        edition=row["edition"],
        sku=row["sku"],
        account_id=row["account_id"],
        company=row["company"],
        reseller_account_id=row["reseller_account_id"],
        pooled=row["pooled"],
        order_id=row["order_id"],
        purchased_at=row["purchased_at"],
        major_version=row["major_version"],
        max_activations=row["max_activations"],
        activations=activations,
        expires_at=row["expires_at"],
        auto_renew=row["auto_renew"],
        maintenance_plan=row["maintenance_plan"],
    )


@router.get("/.well-known/entitle-signing-key", response_model=SigningKeys, tags=["keys"])
async def signing_keys(runtime: RuntimeDep) -> SigningKeys:
    ring = _keys(runtime)
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
    runtime: RuntimeDep, _: Annotated[Principal, Depends(require("catalog:read"))]
) -> dict[str, Any]:
    return _catalog(runtime).model_dump(mode="json")


@router.post("/licenses/validate", response_model=ValidationResult, tags=["validation"])
async def validate_license(body: ValidationRequest, runtime: RuntimeDep) -> ValidationResult:
    """Answer whether a key is valid (for this machine and version). The key is its own
    credential; a forged key is refused before any database lookup."""
    return await answer_validation(runtime, body)


async def answer_validation(runtime: Runtime, body: ValidationRequest) -> ValidationResult:
    """Also served as a fast route (services/runtime/fast_routes.py): read-only."""
    try:
        claims = _keys(runtime).verify_key(body.key)
    except InvalidKey:
        return ValidationResult(valid=False, code=NOT_FOUND.code, detail=NOT_FOUND.detail)
    mismatch = claims_mismatch(claims, body.product, body.edition)
    if mismatch is not None:
        return ValidationResult(valid=False, code=mismatch.code, detail=mismatch.detail)
    parsed: tuple[int, int, int] | None = None
    if body.version is not None:
        try:
            v = Version.parse(body.version)
            parsed = (v.major, v.minor, v.patch)
        except ValueError:
            parsed = None
    row = await licenses.validation_facts(runtime.pool, body.key, body.fingerprint, parsed)
    facts = None if row is None else _facts(runtime, row)
    verdict = validate(
        facts,
        now=runtime.clock.now(),
        fingerprint=body.fingerprint,
        version=body.version,
        release_date=row["release_date"] if row else None,
    )
    return ValidationResult(
        valid=verdict.valid,
        code=verdict.code,
        detail=verdict.detail,
        license_id=str(row["license_id"]) if row else None,
        status=row["status"] if row else None,
        expires_at=row["expires_at"] if row else None,
    )


def _facts(runtime: Runtime, row: dict[str, Any]) -> LicenseFacts:
    plan = _catalog(runtime).plan(row["maintenance_plan"]) if row["maintenance_plan"] else None
    return LicenseFacts(
        status=row["status"],
        expires_at=row["expires_at"],
        max_activations=row["max_activations"],
        activations=row["activations"],
        fingerprint_activated=row["fingerprint_activated"],
        major_version=row["major_version"],
        purchased_at=row["purchased_at"],
        coverage=CoverageFacts(
            periods=tuple((p[0], p[1]) for p in row["periods"]), perpetual=row["perpetual"]
        ),
        plan=plan,
    )


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
    key: str, body: ActivationRequest, runtime: RuntimeDep, response: Response
) -> LicenseView:
    """Activate this machine (the key is the credential). Activating it again is a no-op
    answered 200."""
    _verified(runtime, key)
    async with runtime.transaction() as ctx:
        row, new = await commands.activate(
            ctx, _catalog(runtime), key, body.fingerprint, body.platform, body.hostname
        )
    if not new:
        response.status_code = 200
    return await _view(runtime, row)


@router.delete(
    "/licenses/{key}/activations/{fingerprint}",
    status_code=204,
    tags=["activations"],
    responses=errors(404),
)
async def deactivate_machine(key: str, fingerprint: str, runtime: RuntimeDep) -> None:
    """Free this machine's seat (the key is the credential)."""
    _verified(runtime, key)
    async with runtime.transaction() as ctx:
        await commands.deactivate_machine(ctx, key, fingerprint)


def _verified(runtime: Runtime, key: str) -> None:
    try:
        _keys(runtime).verify_key(key)
    except InvalidKey:
        raise ApiError(404, "LICENSE_NOT_FOUND", "no license has this key") from None


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
    now = runtime.clock.now()
    scope: list[str] = []
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if principal.account_id is not None:
        p = arg(principal.account_id)
        scope.append(f"(l.account_id = {p} or l.reseller_account_id = {p})")
    if account is not None:
        scope.append(f"l.account_id = {arg(account)}")
    if kind == "commercial":
        scope.append("l.kind <> 'trial'")
    elif kind is not None:
        scope.append(f"l.kind = {arg(kind)}")
    if product is not None:
        scope.append(f"l.product = {arg(product)}")
    if order is not None:
        scope.append(f"l.order_id = {arg(order)}")
    if email is not None:
        scope.append(f"lower(l.contact_email) = lower({arg(email)})")
    scope_args = list(args)
    where = list(scope)
    if state == "valid":
        where.append(f"l.status = 'active' and (l.expires_at is null or l.expires_at > {arg(now)})")
    elif state == "expired":
        where.append(f"(l.status = 'expired' or l.expires_at <= {arg(now)})")
    if usage is not None:
        op = "exists" if usage == "used" else "not exists"
        where.append(f"{op} (select 1 from activations a where a.license_id = l.license_id)")
    if auto_renew is not None:
        where.append(f"l.auto_renew = {arg(auto_renew)}")
    rows = await licenses.search(runtime.pool, where, args, limit + 1, offset)
    items = [await _view(runtime, r) for r in rows[:limit]]
    notice = None
    filtered_by_type = kind is not None or product is not None
    # The notice says there is nothing of this type at all, not merely nothing in this state.
    if (
        not items
        and offset == 0
        and filtered_by_type
        and not await licenses.search(runtime.pool, scope, scope_args, 1, 0)
    ):
        notice = EMPTY_NOTICE
    return LicenseList(
        items=items, next_offset=offset + limit if len(rows) > limit else None, notice=notice
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
    row = await licenses.get_by_key(runtime.pool, key)
    if row is None or not _visible(principal, row):
        raise ApiError(404, "LICENSE_NOT_FOUND", "no license has this key")
    return await _view(runtime, row)


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
    principal: Annotated[Principal | None, Depends(_file_reader)],
) -> dict[str, Any]:
    """A signed license file an installed product verifies offline
    (`entitle_events.license_file.verify_license_file`). An installed product holding only
    its key fetches it without an API key; the portal fetches it for the person signed in."""
    if principal is None:
        _verified(runtime, key)  # a forged key costs no database lookup
        principal = Principal("license-key", frozenset({"licenses:read"}))
    row = await licenses.validation_facts(runtime.pool, key, None, None)
    full = await licenses.get_by_key(runtime.pool, key)
    if row is None or full is None or not _visible(principal, full):
        raise ApiError(404, "LICENSE_NOT_FOUND", "no license has this key")
    if full["status"] in ("revoked", "deactivated"):  # a file would keep it running offline
        raise ApiError(409, f"LICENSE_{full['status'].upper()}", f"the license is {full['status']}")
    settings = runtime.settings
    assert isinstance(settings, LicensingSettings)
    now = runtime.clock.now()
    periods = sorted((p[0], p[1]) for p in row["periods"])
    activations = await licenses.activations_of(runtime.pool, full["license_id"])
    payload = {
        "license_id": str(full["license_id"]),
        "key": key,
        "kind": full["kind"],
        "status": full["status"],
        "product": full["product"],
        "edition": full["edition"],
        "account_id": full["account_id"],
        "major_version": full["major_version"],
        "purchased_at": full["purchased_at"].isoformat(),
        "expires_at": full["expires_at"].isoformat() if full["expires_at"] else None,
        "max_activations": full["max_activations"],
        "activations": [a["fingerprint"] for a in activations],
        "coverage": {
            "perpetual": row["perpetual"],
            "ends_at": periods[-1][1].isoformat() if periods else None,
            "periods": [{"starts_at": s.isoformat(), "ends_at": e.isoformat()} for s, e in periods],
        },
        "issued_at": now.isoformat(),
        "valid_until": (now + timedelta(days=settings.license_file_ttl_days)).isoformat(),
    }
    ring = _keys(runtime)
    return {
        "format": FORMAT,
        "kid": ring.key_id,
        "alg": "EdDSA",
        "payload": payload,
        "signature": base64.b64encode(ring.sign(canonical(payload))).decode(),
    }


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
    rows = await licenses.releases_of(runtime.pool, product, limit)
    return [ReleaseView(**r) for r in rows]


def _reseller(principal: Principal) -> str | None:
    return principal.account_id


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
    owner = commands.NewOwner(body.account_id, body.company, body.email)
    async with runtime.transaction() as ctx:
        row = await commands.assign(ctx, key, _reseller(principal), owner)
    return await _view(runtime, row)


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
    owner = commands.NewOwner(body.account_id, body.company, body.email)
    async with runtime.transaction() as ctx:
        row = await commands.transfer_one(ctx, key, _reseller(principal), owner)
    return await _view(runtime, row)


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
    owner = commands.NewOwner(body.account_id, body.company, body.email)
    async with runtime.transaction() as ctx:
        rows = await commands.transfer_order(ctx, order_id, _reseller(principal), owner)
    return LicenseList(items=[await _view(runtime, r) for r in rows])


def _status_route(command: str, summary: str) -> None:
    async def change(
        key: str,
        runtime: RuntimeDep,
        _: Annotated[Principal, Depends(require("licenses:status"))],
        body: StatusRequest | None = None,
    ) -> LicenseView:
        async with runtime.transaction() as ctx:
            row = await commands.change_status(ctx, key, command, body.reason if body else "")
        return await _view(runtime, row)

    router.add_api_route(
        f"/licenses/{{key}}/{command}",
        change,
        methods=["POST"],
        response_model=LicenseView,
        tags=["lifecycle"],
        summary=summary,
        name=command,
        responses=errors(401, 403, 404, 409),
    )


_status_route("suspend", "Suspend a license until it is reinstated")
_status_route("reinstate", "Reinstate a suspended license")
_status_route("revoke", "Revoke a license for good")
_status_route("deactivate", "Deactivate an MSP or subscription license: it can no longer be used")


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
    _: Annotated[Principal, Depends(require("releases:write"))],
) -> ReleaseView:
    if body.released_at.tzinfo is None:
        raise ApiError(422, "VALIDATION_ERROR", "released_at needs a time zone offset")
    async with runtime.transaction() as ctx:
        event = await commands.publish_release(
            ctx, _catalog(runtime), body.product, body.version, body.released_at
        )
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

FAST_ROUTES = [FastRoute("POST", "/licenses/validate", ValidationRequest, answer_validation)]
