"""The answer an installed product gets for its key: read-only, and the hottest path of the
service (also served as a fast route)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import NamedTuple

from entitle_events.versions import Version

from services.policy.catalog import Catalog
from services.runtime.clock import Clock
from services.runtime.grouped import Grouped

from ..adapters.licenses import Lookup, Reader
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


ValidationReads = Grouped[Reader, Lookup, ValidationRecord | None]
"""Concurrent validations' reads, one query for all of them."""

Facts = Callable[[Lookup], Awaitable[ValidationRecord | None]]
"""Reads what validation needs of a key (grouped with concurrent validations' reads)."""


async def check_key(
    facts: Facts,
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
    record = await facts(Lookup(key, fingerprint, parsed))
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
