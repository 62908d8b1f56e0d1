"""Seed rules ticketing once got wrong, on the backup-suite preset (seed 004)."""

from __future__ import annotations

from datetime import timedelta

from entitle_events.licensing import ReleasePublished
from entitle_events.maintenance import CoverageWithdrawn

from .conftest import PRODUCT, TicketingService


async def test_a_major_never_published_is_supported_until_months_after_the_next(
    ticketing: TicketingService,
) -> None:
    """Seed 004: "supports each major version ... until 18 months after the next major
    version becomes available", whether or not its own .0 was published."""
    await ticketing.buy_license("acme")
    released = ticketing.clock.now()
    release = ReleasePublished(
        product=PRODUCT,
        version="19.0.0",
        major=19,
        minor=0,
        patch=0,
        released_at=released,
        release_kind="update",
    )
    await ticketing.deliver(release, PRODUCT)
    ticketing.clock.set(released + timedelta(days=9))
    opened = await ticketing.open(version="18.0.0")
    assert opened.status_code == 201, opened.text
    ticketing.clock.set(released + timedelta(days=18 * 31))
    assert (await ticketing.open(version="18.0.0")).json()["code"] == "VERSION_DISCONTINUED"


async def test_a_refund_that_takes_the_cover_back_ends_priority_support(
    ticketing: TicketingService,
) -> None:
    issued, started = ticketing.purchase_events("acme")
    await ticketing.deliver(issued.data, issued.subject)
    await ticketing.deliver(started.data, started.subject)
    assert (await ticketing.open()).json()["tier"] == "priority"
    withdrawn = CoverageWithdrawn(
        license_id=started.data.license_id,
        license_key=started.data.license_key,
        product=PRODUCT,
        account_id="acme",
        contact_email="it@acme.example",
        order_id="O-refunded",
        periods=started.data.periods,
        ends_at=None,
    )
    await ticketing.deliver(withdrawn, withdrawn.license_id)
    assert (await ticketing.open()).json()["tier"] == "basic"
