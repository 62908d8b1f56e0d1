"""What the API reads: licenses with their machines, the Management Console's list, a
signed license file, releases."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from entitle_events.license_file import FORMAT, canonical

from services.runtime.errors import Refused

from ..adapters import licenses
from ..adapters.licenses import Reader
from ..domain import lifecycle
from ..domain.keys import KeyRing
from ..domain.records import DescribedLicense, License, LicenseFilter, Release


@dataclass(frozen=True, slots=True)
class LicensePage:
    items: list[DescribedLicense]
    next_offset: int | None
    none_of_this_type: bool
    """Nothing matched, and the caller has no license of the type filtered at all."""


def _not_found() -> Refused:
    return Refused("LICENSE_NOT_FOUND", "no license has this key")


async def described(db: Reader, found: Sequence[License]) -> list[DescribedLicense]:
    if not found:
        return []
    machines = await licenses.machines_of(db, [license.license_id for license in found])
    return [DescribedLicense(license, machines[license.license_id]) for license in found]


async def license_for(db: Reader, key: str, viewer: str | None) -> DescribedLicense:
    """The license of `key`, as a caller bound to `viewer`'s account (None: any) sees it."""
    license = await licenses.license_by_key(db, key)
    if license is None or not license.visible_to(viewer):
        raise _not_found()
    (found,) = await described(db, [license])
    return found


async def license_page(
    db: Reader, wanted: LicenseFilter, now: datetime, limit: int, offset: int
) -> LicensePage:
    found = await licenses.search(db, wanted, now, limit + 1, offset)
    items = await described(db, found[:limit])
    # The notice says there is nothing of this type at all, not merely nothing in this state.
    none_of_this_type = (
        not items
        and offset == 0
        and wanted.filters_type
        and not await licenses.search(db, wanted.by_type(), now, 1, 0)
    )
    return LicensePage(items, offset + limit if len(found) > limit else None, none_of_this_type)


async def signed_license_file(
    db: Reader, keys: KeyRing, key: str, viewer: str | None, now: datetime, valid_for: timedelta
) -> dict[str, Any]:
    """The license file of `key`, signed: an installed product verifies it offline
    (`entitle_events.license_file.verify_license_file`)."""
    entitlement = await licenses.validation_facts(db, key, None, None)
    license = await licenses.license_by_key(db, key)
    if entitlement is None or license is None or not license.visible_to(viewer):
        raise _not_found()
    if license.status in lifecycle.ENDED:  # a file would keep it running offline
        raise Refused(f"LICENSE_{license.status.upper()}", f"the license is {license.status}")
    periods = sorted(entitlement.periods)
    machines = await licenses.machines_of(db, [license.license_id])
    payload = {
        "license_id": str(license.license_id),
        "key": key,
        "kind": license.kind,
        "status": license.status,
        "product": license.product,
        "edition": license.edition,
        "account_id": license.account_id,
        "major_version": license.major_version,
        "purchased_at": license.purchased_at.isoformat(),
        "expires_at": license.expires_at.isoformat() if license.expires_at else None,
        "max_activations": license.max_activations,
        "activations": [m.fingerprint for m in machines[license.license_id]],
        "coverage": {
            "perpetual": entitlement.perpetual,
            "ends_at": periods[-1][1].isoformat() if periods else None,
            "periods": [{"starts_at": s.isoformat(), "ends_at": e.isoformat()} for s, e in periods],
        },
        "issued_at": now.isoformat(),
        "valid_until": (now + valid_for).isoformat(),
    }
    return {
        "format": FORMAT,
        "kid": keys.key_id,
        "alg": "EdDSA",
        "payload": payload,
        "signature": base64.b64encode(keys.sign(canonical(payload))).decode(),
    }


async def releases(db: Reader, product: str, limit: int) -> list[Release]:
    """The versions published for a product, newest first."""
    return await licenses.releases_of(db, product, limit)
