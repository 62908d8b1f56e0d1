"""Property-based tests of licensing's pure rules: validation order, seat counting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.licensing.domain.activation import check_activation
from services.licensing.domain.keys import KeyClaims
from services.licensing.domain.validation import (
    CoverageFacts,
    LicenseFacts,
    claims_mismatch,
    validate,
)

NOW = datetime(2026, 11, 21, tzinfo=UTC)
STATUSES = ["active", "suspended", "revoked", "deactivated", "expired"]


@st.composite
def facts(draw: st.DrawFn) -> LicenseFacts:
    max_activations = draw(st.none() | st.integers(1, 5))
    activations = draw(st.integers(0, max_activations or 5))
    return LicenseFacts(
        status=draw(st.sampled_from(STATUSES)),
        expires_at=draw(
            st.none() | st.sampled_from([NOW - timedelta(days=1), NOW + timedelta(days=1)])
        ),
        max_activations=max_activations,
        activations=activations,
        fingerprint_activated=draw(st.booleans()) and activations > 0,
        major_version=5,
        purchased_at=NOW - timedelta(days=400),
        coverage=CoverageFacts(
            periods=((NOW - timedelta(days=400), NOW - timedelta(days=35)),),
        ),
    )


def oracle(f: LicenseFacts, fingerprint: str | None, version: str | None) -> str:
    """The documented order, written out independently of the implementation."""
    checks = [
        ("REVOKED", f.status == "revoked"),
        ("DEACTIVATED", f.status == "deactivated"),
        ("SUSPENDED", f.status == "suspended"),
        ("EXPIRED", f.status == "expired" or (f.expires_at is not None and f.expires_at <= NOW)),
        (
            "TOO_MANY_ACTIVATIONS",
            fingerprint is not None
            and not f.fingerprint_activated
            and f.max_activations is not None
            and f.activations >= f.max_activations,
        ),
        ("NO_ACTIVATION", fingerprint is not None and not f.fingerprint_activated),
        ("VERSION_NOT_ENTITLED", version == "6.0.0"),  # released after coverage ended
    ]
    return next((code for code, failed in checks if failed), "VALID")


@settings(max_examples=300)
@given(
    facts(),
    st.none() | st.just("fp"),
    st.none() | st.sampled_from(["5.3.0", "4.0", "6.0.0"]),
)
def test_the_first_failing_check_in_the_documented_order_decides(
    f: LicenseFacts, fingerprint: str | None, version: str | None
) -> None:
    verdict = validate(
        f, now=NOW, fingerprint=fingerprint, version=version, release_date=NOW - timedelta(days=10)
    )
    assert verdict.code == oracle(f, fingerprint, version)
    assert verdict.valid == (verdict.code == "VALID")


def test_unknown_license_is_not_found() -> None:
    assert validate(None, now=NOW).code == "NOT_FOUND"


def test_a_key_for_another_product_or_edition_is_refused_from_its_claims() -> None:
    claims = KeyClaims("id", "backup-pro", "hyperv", NOW, "k1")
    assert claims_mismatch(claims, "other-product", None).code == "WRONG_PRODUCT"  # type: ignore[union-attr]
    assert claims_mismatch(claims, "backup-pro", "vmware").code == "EDITION_NOT_LICENSED"  # type: ignore[union-attr]
    assert claims_mismatch(claims, "backup-pro", "hyperv") is None


@settings(max_examples=200)
@given(
    st.none() | st.integers(1, 6),
    st.lists(
        st.tuples(st.sampled_from(["activate", "deactivate"]), st.integers(0, 8)), max_size=40
    ),
)
def test_seats_in_use_never_exceed_the_limit(
    max_activations: int | None, commands: list[tuple[str, int]]
) -> None:
    active: set[int] = set()
    for command, machine in commands:
        if command == "deactivate":
            active.discard(machine)
            continue
        refusal = check_activation(
            status="active",
            expired=False,
            platform="windows",
            edition_platforms=["windows"],
            edition="server",
            already_activated=machine in active,
            seats_used=len(active),
            max_activations=max_activations,
        )
        if refusal is None:
            active.add(machine)
        else:
            assert refusal.code == "TOO_MANY_ACTIVATIONS"
            assert machine not in active and len(active) == max_activations
        assert max_activations is None or len(active) <= max_activations
