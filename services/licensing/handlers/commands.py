"""Commands on licenses: activations, status changes, reseller assignments and transfers,
releases. Each runs in one transaction and emits its event through the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from entitle_events.licensing import (
    LicenseActivated,
    LicenseAssigned,
    LicenseDeactivated,
    LicenseReinstated,
    LicenseRevoked,
    LicenseSuspended,
    LicenseTransferred,
    ReleasePublished,
)
from entitle_events.versions import Version

from services.policy.catalog import Catalog
from services.runtime.context import Context
from services.runtime.errors import Refused

from ..adapters import licenses
from ..domain.activation import check_activation


@dataclass(frozen=True)
class NewOwner:
    account_id: str
    company: str
    email: str


def ref(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "license_id": str(row["license_id"]),
        "license_key": row["license_key"],
        "product": row["product"],
        "account_id": row["account_id"],
    }


async def _change_owner(ctx: Context, row: dict[str, Any], owner: NewOwner) -> None:
    await licenses.change_owner(
        ctx.conn, row["license_id"], owner.account_id, owner.company, owner.email
    )


def _owned_by(row: dict[str, Any], owner: NewOwner) -> dict[str, Any]:
    return {**row, "account_id": owner.account_id, "company": owner.company, "pooled": False}


async def _locked(ctx: Context, key: str) -> dict[str, Any]:
    row = await licenses.lock_by_key(ctx.conn, key)
    if row is None:
        raise Refused("LICENSE_NOT_FOUND", "no license has this key")
    return row


async def activate(
    ctx: Context, catalog: Catalog, key: str, fingerprint: str, platform: str, hostname: str
) -> tuple[dict[str, Any], bool]:
    """Activate a machine; returns the license and whether the activation is new.

    The license row is locked while seats are counted, so concurrent activations for the
    last seat cannot both succeed.
    """
    row = await _locked(ctx, key)
    product = catalog.product(row["product"])
    edition = product.edition(row["edition"]) if product else None
    existing = {
        a["fingerprint"] for a in await licenses.activations_of(ctx.conn, row["license_id"])
    }
    now = ctx.now()
    refusal = check_activation(
        status=row["status"],
        expired=row["expires_at"] is not None and row["expires_at"] <= now,
        platform=platform,
        edition_platforms=list(edition.platforms) if edition else [],
        edition=row["edition"],
        already_activated=fingerprint in existing,
        seats_used=len(existing),
        max_activations=row["max_activations"],
    )
    if refusal is not None:
        raise Refused(refusal.code, refusal.detail)
    if fingerprint in existing:
        return row, False
    await licenses.add_activation(ctx.conn, row["license_id"], fingerprint, platform, hostname, now)
    ctx.emit(
        LicenseActivated(
            **ref(row),
            fingerprint=fingerprint,
            platform=platform,
            hostname=hostname,
            activated_at=now,
            activations_used=len(existing) + 1,
        ),
        subject=str(row["license_id"]),
    )
    return row, True


async def deactivate_machine(ctx: Context, key: str, fingerprint: str) -> None:
    row = await _locked(ctx, key)
    if not await licenses.remove_activation(ctx.conn, row["license_id"], fingerprint):
        raise Refused("ACTIVATION_NOT_FOUND", "this machine is not activated")
    ctx.emit(
        LicenseDeactivated(**ref(row), fingerprint=fingerprint, deactivated_at=ctx.now()),
        subject=str(row["license_id"]),
    )


_TRANSITIONS: dict[str, tuple[set[str], str]] = {
    # command: (statuses it applies to, resulting status)
    "suspend": ({"active"}, "suspended"),
    "reinstate": ({"suspended"}, "active"),
    "revoke": ({"active", "suspended", "expired", "deactivated"}, "revoked"),
    "deactivate": ({"active", "suspended"}, "deactivated"),
}


async def change_status(ctx: Context, key: str, command: str, reason: str) -> dict[str, Any]:
    row = await _locked(ctx, key)
    allowed, target = _TRANSITIONS[command]
    if row["status"] not in allowed:
        raise Refused("ILLEGAL_TRANSITION", f"a {row['status']} license cannot be {command}d")
    if command == "deactivate" and row["kind"] not in ("msp", "subscription"):
        raise Refused("NOT_DEACTIVATABLE", "only MSP and subscription licenses are deactivated")
    await licenses.set_status(ctx.conn, row["license_id"], target)
    emit_status_event(ctx, row, command, reason)
    return {**row, "status": target}


def emit_status_event(ctx: Context, row: dict[str, Any], command: str, reason: str) -> None:
    now = ctx.now()
    subject = str(row["license_id"])
    if command == "suspend":
        ctx.emit(LicenseSuspended(**ref(row), at=now, reason=reason), subject=subject)
    elif command == "reinstate":
        ctx.emit(LicenseReinstated(**ref(row), at=now, reason=reason), subject=subject)
    elif command == "revoke":
        ctx.emit(
            LicenseRevoked(**ref(row), at=now, reason=reason, order_id=row["order_id"]),
            subject=subject,
        )
    else:
        ctx.emit(LicenseDeactivated(**ref(row), deactivated_at=now), subject=subject)


async def assign(ctx: Context, key: str, reseller: str | None, owner: NewOwner) -> dict[str, Any]:
    """A reseller gives a license from its pool to a company."""
    row = await _locked(ctx, key)
    if reseller is not None and row["reseller_account_id"] != reseller:
        raise Refused("LICENSE_NOT_FOUND", "no license has this key")
    if not row["pooled"]:
        raise Refused("NOT_IN_POOL", "the license is not in a reseller's pool")
    await licenses.change_owner(
        ctx.conn, row["license_id"], owner.account_id, owner.company, owner.email
    )
    ctx.emit(
        LicenseAssigned(
            **{**ref(row), "account_id": owner.account_id},
            reseller_account_id=row["reseller_account_id"],
            company=owner.company,
            contact_email=owner.email,
            assigned_at=ctx.now(),
        ),
        subject=str(row["license_id"]),
    )
    return _owned_by(row, owner)


async def transfer(
    ctx: Context, rows: list[dict[str, Any]], reseller: str | None, owner: NewOwner
) -> list[dict[str, Any]]:
    """A reseller transfers licenses it bought (one, or a whole order) to an end-user company."""
    moved = []
    for row in rows:
        if reseller is not None and row["reseller_account_id"] != reseller:
            raise Refused("LICENSE_NOT_FOUND", "no license has this key")
        if row["reseller_account_id"] is None:
            raise Refused("NOT_TRANSFERABLE", "only licenses bought by a reseller transfer")
        if row["status"] == "revoked":
            raise Refused("LICENSE_REVOKED", "a revoked license cannot be transferred")
        await licenses.change_owner(
            ctx.conn, row["license_id"], owner.account_id, owner.company, owner.email
        )
        ctx.emit(
            LicenseTransferred(
                **{**ref(row), "account_id": owner.account_id},
                from_account_id=row["account_id"],
                company=owner.company,
                contact_email=owner.email,
                order_id=row["order_id"],
                transferred_at=ctx.now(),
            ),
            subject=str(row["license_id"]),
        )
        moved.append(
            {**row, "account_id": owner.account_id, "company": owner.company, "pooled": False}
        )
    return moved


async def transfer_one(
    ctx: Context, key: str, reseller: str | None, owner: NewOwner
) -> dict[str, Any]:
    return (await transfer(ctx, [await _locked(ctx, key)], reseller, owner))[0]


async def transfer_order(
    ctx: Context, order_id: str, reseller: str | None, owner: NewOwner
) -> list[dict[str, Any]]:
    rows = await licenses.by_order(ctx.conn, order_id)
    if reseller is not None:  # another reseller's order is as unknown as a missing one
        rows = [row for row in rows if row["reseller_account_id"] == reseller]
    if not rows:
        raise Refused("ORDER_NOT_FOUND", f"no licenses were issued for order {order_id}")
    return await transfer(ctx, rows, reseller, owner)


async def publish_release(
    ctx: Context, catalog: Catalog, product: str, version_text: str, released_at: datetime
) -> ReleasePublished:
    known = catalog.product(product)
    if known is None:
        raise Refused("UNKNOWN_PRODUCT", f"the catalog has no product {product}")
    try:
        version = Version.parse(version_text)
    except ValueError as exc:
        raise Refused("VERSION_INVALID", str(exc)) from exc
    await ctx.conn.execute("select pg_advisory_xact_lock(hashtext($1))", product)
    # A new major beyond every major known (the catalog's current one included) is a version
    # update; anything else is a maintenance release.
    highest = await licenses.highest_major(ctx.conn, product)
    baseline = max(highest if highest is not None else known.current_major, known.current_major)
    kind = "update" if version.major > baseline else "maintenance"
    if not await licenses.insert_release(ctx.conn, product, version, released_at, kind):
        raise Refused("RELEASE_EXISTS", f"{product} {version} is already published")
    event = ReleasePublished(
        product=product,
        version=str(version),
        major=version.major,
        minor=version.minor,
        patch=version.patch,
        released_at=released_at,
        release_kind=kind,
    )
    ctx.emit(event, subject=product)
    return event
