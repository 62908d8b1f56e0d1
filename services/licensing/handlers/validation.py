"""The answer an installed product gets for its key: read-only, and the hottest path of the
service (also served as a fast route)."""

from __future__ import annotations

from typing import NamedTuple

from entitle_events.versions import Version

from services.policy.catalog import Catalog
from services.runtime.clock import Clock

from ..adapters import licenses
from ..adapters.licenses import Reader
from ..domain.keys import InvalidKey, KeyRing
from ..domain.records import ValidationRecord
from ..domain.validation import (
    NOT_FOUND,
    CoverageFacts,
    LicenseFacts,
    Verdict,
    claims_mismatch,
    validate,
)


class Checked(NamedTuple):
    """A named tuple for the same reason as `ValidationRecord`."""

    verdict: Verdict
    license: ValidationRecord | None = None
    """What was read of the key's license; None when none was."""


async def check_key(
    db: Reader,
    clock: Clock,
    keys: KeyRing,
    catalog: Catalog,
    key: str,
    *,
    fingerprint: str | None,
    version: str | None,
    product: str | None,
    edition: str | None,
) -> Checked:
    """A forged key is refused before any database lookup."""
    try:
        claims = keys.verify_key(key)
    except InvalidKey:
        return Checked(NOT_FOUND)
    mismatch = claims_mismatch(claims, product, edition)
    if mismatch is not None:
        return Checked(mismatch)
    parsed: tuple[int, int, int] | None = None
    if version is not None:
        try:
            v = Version.parse(version)
            parsed = (v.major, v.minor, v.patch)
        except ValueError:
            parsed = None
    record = await licenses.validation_facts(db, key, fingerprint, parsed)
    verdict = validate(
        None if record is None else _facts(catalog, record),
        now=clock.now(),
        fingerprint=fingerprint,
        version=version,
        release_date=record.release_date if record else None,
    )
    return Checked(verdict, record)


def _facts(catalog: Catalog, record: ValidationRecord) -> LicenseFacts:
    plan = catalog.plan(record.maintenance_plan) if record.maintenance_plan else None
    return LicenseFacts(
        status=record.status,
        expires_at=record.expires_at,
        max_activations=record.max_activations,
        activations=record.activations,
        fingerprint_activated=record.fingerprint_activated,
        major_version=record.major_version,
        purchased_at=record.purchased_at,
        coverage=CoverageFacts(periods=record.periods, perpetual=record.perpetual),
        plan=plan,
    )
