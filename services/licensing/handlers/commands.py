"""Commands on licenses: activations, status changes, reseller assignments and transfers,
releases. Each runs in one transaction and emits its event through the outbox."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

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
from services.policy.releases import release_kind
from services.runtime.context import Context
from services.runtime.errors import Refused

from ..adapters import licenses
from ..domain import lifecycle
from ..domain.activation import check_activation
from ..domain.records import ActivatedMachine, License, Owner


@dataclass(frozen=True, slots=True)
class Activate:
    key: str
    fingerprint: str
    platform: str
    hostname: str


@dataclass(frozen=True, slots=True)
class FreeMachine:
    """Deactivate one machine: its seat is free again."""

    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class StatusChange:
    key: str
    reason: str = ""


class Suspend(StatusChange):
    """Until the license is reinstated."""


class Reinstate(StatusChange):
    """A suspended license is usable again."""


class Revoke(StatusChange):
    """For good."""


class Deactivate(StatusChange):
    """An MSP or subscription license can no longer be used."""


@dataclass(frozen=True, slots=True)
class OwnerChange:
    """`reseller`: the reseller's account that may do it; None: any (an admin)."""

    key: str
    reseller: str | None
    to: Owner


class Assign(OwnerChange):
    """A reseller gives a license from its pool to a company."""


class Transfer(OwnerChange):
    """A reseller transfers a license it bought to an end-user company."""


@dataclass(frozen=True, slots=True)
class TransferOrder:
    """A reseller transfers every license of one order it bought."""

    order_id: str
    reseller: str | None
    to: Owner


@dataclass(frozen=True, slots=True)
class PublishRelease:
    product: str
    version: str
    released_at: datetime


def ref(license: License) -> dict[str, str]:
    """The fields every license event carries."""
    return {
        "license_id": str(license.license_id),
        "license_key": license.license_key,
        "product": license.product,
        "account_id": license.account_id,
    }


async def _locked(ctx: Context, key: str) -> License:
    license = await licenses.lock_by_key(ctx.conn, key)
    if license is None:
        raise Refused("LICENSE_NOT_FOUND", "no license has this key")
    return license


async def activate(ctx: Context, catalog: Catalog, command: Activate) -> tuple[License, bool]:
    """Activate a machine; returns the license and whether the activation is new.

    The license row is locked while seats are counted, so concurrent activations for the
    last seat cannot both succeed.
    """
    license = await _locked(ctx, command.key)
    product = catalog.product(license.product)
    edition = product.edition(license.edition) if product else None
    machines = await licenses.machines_of(ctx.conn, [license.license_id])
    existing = {m.fingerprint for m in machines[license.license_id]}
    now = ctx.now()
    refusal = check_activation(
        status=license.status,
        expired=license.expires_at is not None and license.expires_at <= now,
        platform=command.platform,
        edition_platforms=list(edition.platforms) if edition else [],
        edition=license.edition,
        already_activated=command.fingerprint in existing,
        seats_used=len(existing),
        max_activations=license.max_activations,
    )
    if refusal is not None:
        raise Refused(refusal.code, refusal.detail)
    if command.fingerprint in existing:
        return license, False
    machine = ActivatedMachine(command.fingerprint, command.platform, command.hostname, now)
    await licenses.add_activation(ctx.conn, license.license_id, machine)
    ctx.emit(
        LicenseActivated(
            **ref(license),
            fingerprint=machine.fingerprint,
            platform=machine.platform,
            hostname=machine.hostname,
            activated_at=now,
            activations_used=len(existing) + 1,
        ),
        subject=str(license.license_id),
    )
    return license, True


async def free_machine(ctx: Context, command: FreeMachine) -> None:
    license = await _locked(ctx, command.key)
    if not await licenses.remove_activation(ctx.conn, license.license_id, command.fingerprint):
        raise Refused("ACTIVATION_NOT_FOUND", "this machine is not activated")
    ctx.emit(
        LicenseDeactivated(
            **ref(license), fingerprint=command.fingerprint, deactivated_at=ctx.now()
        ),
        subject=str(license.license_id),
    )


async def _transition(ctx: Context, key: str, transition: lifecycle.Transition) -> License:
    """The license, moved to the transition's status; refused when it may not move."""
    license = await _locked(ctx, key)
    refusal = lifecycle.check_transition(transition, license.status, license.kind)
    if refusal is not None:
        raise Refused(refusal.code, refusal.detail)
    await licenses.set_status(ctx.conn, [license.license_id], transition.status)
    return replace(license, status=transition.status)


async def suspend(ctx: Context, command: Suspend) -> License:
    license = await _transition(ctx, command.key, lifecycle.SUSPEND)
    ctx.emit(
        LicenseSuspended(**ref(license), at=ctx.now(), reason=command.reason),
        subject=str(license.license_id),
    )
    return license


async def reinstate(ctx: Context, command: Reinstate) -> License:
    license = await _transition(ctx, command.key, lifecycle.REINSTATE)
    ctx.emit(
        LicenseReinstated(**ref(license), at=ctx.now(), reason=command.reason),
        subject=str(license.license_id),
    )
    return license


async def revoke(ctx: Context, command: Revoke) -> License:
    license = await _transition(ctx, command.key, lifecycle.REVOKE)
    emit_revoked(ctx, license, command.reason)
    return license


async def deactivate(ctx: Context, command: Deactivate) -> License:
    license = await _transition(ctx, command.key, lifecycle.DEACTIVATE)
    ctx.emit(
        LicenseDeactivated(**ref(license), deactivated_at=ctx.now()),
        subject=str(license.license_id),
    )
    return license


def emit_revoked(ctx: Context, license: License, reason: str) -> None:
    ctx.emit(
        LicenseRevoked(**ref(license), at=ctx.now(), reason=reason, order_id=license.order_id),
        subject=str(license.license_id),
    )


async def assign(ctx: Context, command: Assign) -> License:
    license = await _locked(ctx, command.key)
    if command.reseller is not None and license.reseller_account_id != command.reseller:
        raise Refused("LICENSE_NOT_FOUND", "no license has this key")
    if not license.pooled:
        raise Refused("NOT_IN_POOL", "the license is not in a reseller's pool")
    await licenses.change_owner(ctx.conn, license.license_id, command.to)
    assigned = license.owned_by(command.to)
    ctx.emit(
        LicenseAssigned(
            **ref(assigned),
            reseller_account_id=license.reseller_account_id,
            company=command.to.company,
            contact_email=command.to.email,
            assigned_at=ctx.now(),
        ),
        subject=str(license.license_id),
    )
    return assigned


async def transfer(ctx: Context, command: Transfer) -> License:
    (moved,) = await _transfer(ctx, [await _locked(ctx, command.key)], command.reseller, command.to)
    return moved


async def transfer_order(ctx: Context, command: TransferOrder) -> list[License]:
    found = await licenses.by_order(ctx.conn, command.order_id)
    if command.reseller is not None:  # another reseller's order is as unknown as a missing one
        found = [license for license in found if license.reseller_account_id == command.reseller]
    if not found:
        raise Refused("ORDER_NOT_FOUND", f"no licenses were issued for order {command.order_id}")
    return await _transfer(ctx, found, command.reseller, command.to)


async def _transfer(
    ctx: Context, found: list[License], reseller: str | None, to: Owner
) -> list[License]:
    moved = []
    for license in found:
        if reseller is not None and license.reseller_account_id != reseller:
            raise Refused("LICENSE_NOT_FOUND", "no license has this key")
        if license.reseller_account_id is None:
            raise Refused("NOT_TRANSFERABLE", "only licenses bought by a reseller transfer")
        if license.status == lifecycle.REVOKED:
            raise Refused("LICENSE_REVOKED", "a revoked license cannot be transferred")
        await licenses.change_owner(ctx.conn, license.license_id, to)
        transferred = license.owned_by(to)
        ctx.emit(
            LicenseTransferred(
                **ref(transferred),
                from_account_id=license.account_id,
                company=to.company,
                contact_email=to.email,
                order_id=license.order_id,
                transferred_at=ctx.now(),
            ),
            subject=str(license.license_id),
        )
        moved.append(transferred)
    return moved


async def publish_release(
    ctx: Context, catalog: Catalog, command: PublishRelease
) -> ReleasePublished:
    known = catalog.product(command.product)
    if known is None:
        raise Refused("UNKNOWN_PRODUCT", f"the catalog has no product {command.product}")
    try:
        version = Version.parse(command.version)
    except ValueError as exc:
        raise Refused("VERSION_INVALID", str(exc)) from exc
    await licenses.lock_releases(ctx.conn, command.product)
    # Known majors: those published and the catalog's current one.
    highest = await licenses.highest_major(ctx.conn, command.product)
    kind = release_kind(max(highest or 0, known.current_major), version)
    if not await licenses.insert_release(
        ctx.conn, command.product, version, command.released_at, kind
    ):
        raise Refused("RELEASE_EXISTS", f"{command.product} {version} is already published")
    event = ReleasePublished(
        product=command.product,
        version=str(version),
        major=version.major,
        minor=version.minor,
        patch=version.patch,
        released_at=command.released_at,
        release_kind=kind,
    )
    ctx.emit(event, subject=command.product)
    return event
