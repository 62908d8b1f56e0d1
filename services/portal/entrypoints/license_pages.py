"""Licenses (seed 001's list), one license, associate maintenance and transfer (seed 002).
Everything is read and changed through the services' APIs with the viewer's token."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Annotated, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..domain import display
from ..domain import licenses as rules
from ..domain.answers import Eligibility, License, Release
from ..domain.apis import AccountApi, NewOwner, ServiceError
from .web import PageError, Viewer, finish, form_with_csrf, redirect, render, signed_in

T = TypeVar("T")
router = APIRouter()
Customer = Annotated[Viewer, Depends(signed_in("portal"))]
PAGE_SIZE = 25
RELEASES_SHOWN = 8
DONE = {
    "deactivated": "The machine was deactivated: its seat is free.",
    "associated": "The maintenance code was associated with this license.",
    "transferred": "The licenses were transferred.",
}


def shop_link(seen: Viewer, sku: str | None, quantity: int = 1, **extra: str) -> str:
    params = {"sku": sku or "", "quantity": str(quantity), **extra}
    return f"{seen.web.settings.shop_url}?{urlencode(params)}"


@router.get("/licenses")
async def licenses(request: Request, seen: Customer, page: int = 1) -> Response:
    filters = rules.parse_filters(dict(request.query_params))
    api = seen.api()
    everything, filtered = await asyncio.gather(
        api.all_licenses(), api.all_licenses(**filters.api_params())
    )
    shown = [lic for lic in filtered if rules.matches(lic, filters.q)]
    current = display.paginate(shown, page, PAGE_SIZE)
    groups = rules.group(seen.web.catalog, everything, current.items)
    query = {k: v for k, v in request.query_params.items() if k != "page"}
    return render(
        seen,
        "licenses.html",
        {
            "filters": filters,
            "groups": groups,
            "page": current,
            "total": len(shown),
            "companies": rules.companies(everything),
            "query": query,
            "shop": lambda sku, n=1: shop_link(seen, sku, n),
        },
    )


@router.get("/buy")
async def buy(seen: Customer, sku: str = "", quantity: int = 1) -> Response:
    """*Buy new licenses*: on to the vendor's shop (Entitle takes no payments)."""
    if seen.web.catalog.sku(sku) is None:
        raise PageError(404, "SKU_NOT_FOUND", "This product is not sold in the shop.")
    quantity = min(max(quantity, 1), 1000)
    from fastapi.responses import RedirectResponse

    return finish(seen, RedirectResponse(shop_link(seen, sku, quantity), status_code=303))


async def _optional(call: Awaitable[T]) -> T | None:
    """An answer a page can do without (no maintenance, no renewal SKU): None on 404/422."""
    try:
        return await call
    except ServiceError as exc:
        if exc.status in (404, 409, 422):
            return None
        raise


async def _releases(api: AccountApi, lic: License) -> list[tuple[Release, Eligibility | None]]:
    """The latest releases, each with whether the license is entitled to it."""
    try:
        published = (await api.releases(lic.product))[:RELEASES_SHOWN]
    except ServiceError:
        return []
    answers = await asyncio.gather(
        *(_optional(api.eligibility(lic.key, r.version)) for r in published)
    )
    return list(zip(published, answers, strict=True))


@router.get("/licenses/{key}")
async def license_page(key: str, seen: Customer, done: str = "") -> Response:
    api = seen.api()
    lic = await api.license(key)  # 404 for a key of another account: the service decides
    coverage, quote, releases = await asyncio.gather(
        _optional(api.coverage(key)), _optional(api.renewal_quote(key)), _releases(api, lic)
    )
    catalog = seen.web.catalog
    product = catalog.product(lic.product)
    return render(
        seen,
        "license.html",
        {
            "lic": lic,
            "type_name": rules.license_type_name(catalog, lic),
            "product_name": product.name if product else lic.product,
            "coverage": coverage,
            "coverage_text": rules.coverage_status_text(coverage.status if coverage else "none"),
            "sources": rules.SOURCE_NAMES,
            "quote": quote,
            "releases": releases,
            "renew_link": shop_link(seen, quote.sku, 1, license_key=key)
            if quote and quote.allowed
            else None,
            "done": DONE.get(done),
        },
    )


@router.get("/licenses/{key}/file")
async def license_file(key: str, seen: Customer) -> Response:
    document = await seen.api().license_file(key)
    name = f"license-{document['payload']['license_id']}.json"
    return finish(
        seen,
        Response(
            json.dumps(document, indent=2),
            media_type="application/json",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        ),
    )


@router.post("/licenses/{key}/deactivate")
async def deactivate(key: str, request: Request, seen: Customer) -> Response:
    form = await form_with_csrf(request, seen)
    api = seen.api()
    lic = await api.license(key)  # the account must see the license before touching it
    fingerprint = str(form.get("fingerprint", ""))
    if fingerprint not in {a.fingerprint for a in lic.activations}:
        raise PageError(404, "ACTIVATION_NOT_FOUND", "This machine is not activated.")
    await api.deactivate_machine(key, fingerprint)
    return redirect(seen, f"/licenses/{key}", done="deactivated")


# -- associate maintenance (seed 002) ---------------------------------------------------


@router.get("/maintenance/associate")
async def associate_form(
    seen: Customer, customer: str = "", code: str = "", license: str = ""
) -> Response:
    return await _associate_page(seen, customer, code, license, None)


async def _associate_page(
    seen: Viewer,
    customer: str,
    code: str,
    key: str,
    problem: tuple[str, str] | None,
    warning: str | None = None,
    status: int = 200,
) -> Response:
    api = seen.api()
    codes, everything = await asyncio.gather(api.unused_maintenance_codes(), api.all_licenses())
    reseller = seen.principal is not None and seen.principal.is_reseller
    customers = rules.companies(everything) if reseller else []
    shown = [
        lic for lic in everything if not reseller or not customer or lic.account_id == customer
    ]
    if reseller and not customer:
        shown = []
    return render(
        seen,
        "associate.html",
        {
            "codes": codes,
            "licenses": shown,
            "customers": customers,
            "customer": customer,
            "reseller": reseller,
            "code": code,
            "key": key,
            "problem": problem,
            "warning": warning,
            "term_of": lambda code: code.term_months or _plan_term(seen, code.plan),
            "type_name": lambda lic: rules.license_type_name(seen.web.catalog, lic),
        },
        status,
    )


def _plan_term(seen: Viewer, plan_code: str) -> int | str:
    plan = seen.web.catalog.plan(plan_code)
    return plan.term_months if plan else "?"


@router.post("/maintenance/associate")
async def associate(request: Request, seen: Customer) -> Response:
    form = await form_with_csrf(request, seen)
    code = str(form.get("maintenance_code", "")).strip()
    key = str(form.get("license_key", "")).strip()
    customer = str(form.get("customer", ""))
    if not code or not key:
        return await _associate_page(
            seen,
            customer,
            code,
            key,
            ("CHOICE_MISSING", "Pick a maintenance code and the license it should cover."),
            status=422,
        )
    api = seen.api()
    coverage = await _optional(api.coverage(key))
    if coverage and coverage.status in ("active", "perpetual") and form.get("confirm") != "extend":
        ends = seen.date(coverage.ends_at) if coverage.ends_at else "while it is active"
        return await _associate_page(
            seen,
            customer,
            code,
            key,
            None,
            warning=f"This license already has maintenance (until {ends}): this code extends"
            " the same license. To cover another machine, pick another license.",
        )
    try:
        await api.associate(code, key)
    except ServiceError as exc:
        if exc.status in (401, 403):
            raise
        return await _associate_page(
            seen, customer, code, key, (exc.code, exc.detail.rstrip(".") + "."), status=exc.status
        )
    return redirect(seen, f"/licenses/{key}", done="associated")


# -- transfer (resellers, seed 002) -----------------------------------------------------


def _reseller_only(seen: Viewer) -> None:
    if seen.principal is None or not seen.principal.is_reseller:
        raise PageError(
            403, "RESELLERS_ONLY", "Transferring licenses is for resellers, to their customers."
        )


@router.get("/transfer")
async def transfer_form(seen: Customer, done: str = "") -> Response:
    _reseller_only(seen)
    return await _transfer_page(seen, None, done=DONE.get(done))


async def _transfer_page(
    seen: Viewer, problem: tuple[str, str] | None, status: int = 200, done: str | None = None
) -> Response:
    assert seen.principal is not None and seen.principal.account is not None
    me = seen.principal.account.account_id
    sold = [
        lic
        for lic in await seen.api().all_licenses()
        if lic.reseller_account_id == me and lic.account_id == me
    ]
    orders: dict[str, list[License]] = {}
    for lic in sold:
        orders.setdefault(lic.order_id, []).append(lic)
    customers = [c for c in rules.companies(await seen.api().all_licenses()) if c[0] != me]
    return render(
        seen,
        "transfer.html",
        {
            "orders": orders,
            "customers": customers,
            "problem": problem,
            "done": done,
            "type_name": lambda lic: rules.license_type_name(seen.web.catalog, lic),
        },
        status,
    )


@router.post("/transfer")
async def transfer(request: Request, seen: Customer) -> Response:
    _reseller_only(seen)
    form = await form_with_csrf(request, seen)
    api = seen.api()
    email = str(form.get("email", "")).strip()
    existing = str(form.get("customer", ""))
    company = str(form.get("company", "")).strip()
    known = dict(rules.companies(await api.all_licenses()))
    if existing:
        if existing not in known:
            raise PageError(404, "CUSTOMER_NOT_FOUND", "This customer is not one of yours.")
        owner = NewOwner(existing, known[existing], email)
    else:
        owner = NewOwner(rules.new_account_id(company, email), company, email)
    if not owner.company or "@" not in email:
        return await _transfer_page(
            seen,
            ("CUSTOMER_MISSING", "Pick or type the end-user company and its contact email."),
            422,
        )
    order = str(form.get("order_id", ""))
    keys = [str(k) for k in form.getlist("license_key")]
    if not order and not keys:
        return await _transfer_page(
            seen, ("NOTHING_CHOSEN", "Select an entire order or the licenses to transfer."), 422
        )
    try:
        if order:
            await api.transfer_order(order, owner)
        for key in keys:
            await api.transfer_license(key, owner)
    except ServiceError as exc:
        if exc.status in (401, 403, 404):
            raise
        return await _transfer_page(seen, (exc.code, exc.detail.rstrip(".") + "."), exc.status)
    return redirect(seen, "/transfer", done="transferred")
