"""Maintenance end to end against PostgreSQL and the broker (seed 000)."""

from __future__ import annotations

from datetime import timedelta

from entitle_events.licensing import (
    LicenseExpired,
    LicenseRenewed,
    LicenseRevoked,
    LicenseTransferred,
)
from entitle_events.maintenance import (
    CoverageEnded,
    CoverageExpiring,
    CoverageExtended,
    CoverageLapsed,
    CoverageStarted,
    MaintenanceCodesIssued,
    RenewalRejected,
    UpgradeAvailable,
)

from services.maintenance.bootstrap import build
from services.maintenance.handlers.licenses import (
    on_license_expired,
    on_license_owner,
    on_license_renewed,
    on_license_revoked,
)
from services.maintenance.handlers.notices import fan_out_release
from services.maintenance.handlers.orders import on_orders_placed

from .conftest import ACME, ADMIN, NOW, OTHER, Maintenance, at, ts


async def test_renewal_during_complimentary_months_starts_after_them(
    maintenance: Maintenance,
) -> None:
    lic = await maintenance.issue(at(2026, 10, 1))
    assert maintenance.of(CoverageStarted, lic.license_id)
    quote = (
        await maintenance.client.get(
            "/renewal-quote", params={"key": lic.license_key, "sku": "BP-CARE-12"}, headers=ACME
        )
    ).json()
    assert quote["allowed"] is True and quote["code"] == "OK"
    assert (quote["list_price"], quote["price"], quote["discount_pct"]) == ("59.00", "41.30", "30")
    assert quote["currency"] == "EUR"
    assert ts(quote["starts_at"]) == at(2027, 1, 1) and ts(quote["ends_at"]) == at(2028, 1, 1)

    event = await maintenance.renew(lic.license_key, NOW)
    await maintenance.apply_all(
        on_orders_placed, [event], maintenance.catalog
    )  # redelivery: nothing more
    extended = maintenance.of(CoverageExtended, lic.license_id)
    assert len(extended) == 1
    assert extended[0].period.starts_at == at(2027, 1, 1)
    assert extended[0].period.source == "renewal"
    body = await maintenance.coverage(lic.license_key, ACME)
    assert body["status"] == "active"
    assert ts(body["ends_at"]) == at(2028, 1, 1)
    assert [p["source"] for p in body["periods"]] == ["complimentary", "renewal"]


async def test_lapsed_paid_cover_renewed_starts_at_purchase(maintenance: Maintenance) -> None:
    lic = await maintenance.issue(at(2024, 1, 1))
    await maintenance.renew(lic.license_key, at(2024, 3, 1))  # paid until 2025-04-01
    body = await maintenance.coverage(lic.license_key)
    assert body["status"] == "lapsed" and ts(body["ends_at"]) == at(2025, 4, 1)
    quote = (
        await maintenance.client.get(
            "/renewal-quote", params={"key": lic.license_key}, headers=ADMIN
        )
    ).json()
    assert quote["allowed"] and quote["price"] == "59.00" and quote["discount_pct"] == "0"

    await maintenance.renew(lic.license_key, NOW)
    last = maintenance.of(CoverageExtended, lic.license_id)[-1]
    assert (last.period.starts_at, last.period.ends_at) == (NOW, NOW.replace(year=2027))
    assert (await maintenance.coverage(lic.license_key))["status"] == "active"


async def test_renewal_outside_the_window_is_rejected(maintenance: Maintenance) -> None:
    lic = await maintenance.issue(at(2026, 1, 1))  # complimentary until 1 Apr, window 1 Jul
    assert (await maintenance.coverage(lic.license_key))["status"] == "lapsed"
    await maintenance.renew(lic.license_key, NOW)
    rejected = maintenance.of(RenewalRejected)
    assert len(rejected) == 1
    assert rejected[0].code == "RENEWAL_WINDOW_CLOSED"
    assert rejected[0].license_key == lic.license_key and "2026-07-01" in rejected[0].reason
    assert not maintenance.of(CoverageExtended, lic.license_id)

    in_window = await maintenance.issue(at(2026, 7, 1))  # lapsed 1 Oct, window to 1 Jan
    assert (await maintenance.coverage(in_window.license_key))["status"] == "in_renewal_window"


async def test_v4_license_cannot_renew(maintenance: Maintenance) -> None:
    lic = await maintenance.issue(at(2026, 10, 1), major=4)
    quote = (
        await maintenance.client.get(
            "/renewal-quote", params={"key": lic.license_key, "sku": "BP-CARE-12"}, headers=ADMIN
        )
    ).json()
    assert quote["allowed"] is False and quote["code"] == "VERSION_TOO_OLD"
    assert quote["price"] is None and quote["list_price"] == "59.00"
    await maintenance.renew(lic.license_key, NOW)
    assert [r.code for r in maintenance.of(RenewalRejected)] == ["VERSION_TOO_OLD"]


async def test_association_codes_stack_and_are_single_use(maintenance: Maintenance) -> None:
    lic = await maintenance.issue(at(2026, 10, 1))
    order = await maintenance.order(NOW, {"sku": "BP-CARE-12", "quantity": 2})
    codes = [
        r["code"]
        for r in await maintenance.runtime.pool.fetch(
            "select code from maintenance_codes where order_id = $1 order by code",
            order.data.order_id,
        )
    ]
    assert len(codes) == 2 and len(set(codes)) == 2 and all(c.startswith("MC-") for c in codes)
    [issued] = maintenance.of(MaintenanceCodesIssued)  # the buyer learns the codes
    assert sorted(issued.codes) == codes and issued.contact_email == "it@acme.example"

    for code in codes:
        response = await maintenance.client.post(
            "/associations",
            json={"maintenance_code": code, "license_key": lic.license_key},
            headers=ACME,
        )
        assert response.status_code == 201, response.text
    body = response.json()
    assert [p["source"] for p in body["periods"]] == ["complimentary", "association", "association"]
    assert ts(body["ends_at"]) == at(2029, 1, 1)
    assert len(maintenance.of(CoverageExtended, lic.license_id)) == 2

    again = await maintenance.client.post(
        "/associations",
        json={"maintenance_code": codes[0], "license_key": lic.license_key},
        headers=ACME,
    )
    assert again.status_code == 409 and again.json()["code"] == "CODE_ALREADY_USED"
    unknown = await maintenance.client.post(
        "/associations",
        json={"maintenance_code": "MC-NOPE", "license_key": lic.license_key},
        headers=ACME,
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "CODE_NOT_FOUND"
    foreign = await maintenance.client.post(
        "/associations",
        json={"maintenance_code": codes[1], "license_key": lic.license_key},
        headers=OTHER,
    )
    assert foreign.status_code == 404
    read_only = await maintenance.client.post(
        "/associations",
        json={"maintenance_code": codes[1], "license_key": lic.license_key},
        headers={"authorization": "Bearer read-only"},
    )
    assert read_only.status_code == 403


async def test_eligibility_offers_the_renewal_that_fixes_it(maintenance: Maintenance) -> None:
    lic = await maintenance.issue(at(2026, 10, 1))  # complimentary until 2027-01-01
    await maintenance.publish("5.1.0", at(2026, 11, 1))
    await maintenance.publish("6.0.0", at(2027, 3, 1))

    free = await maintenance.client.get(
        "/eligibility", params={"key": lic.license_key, "version": "5.1"}, headers=ACME
    )
    assert free.json()["entitled"] is True and free.json()["code"] == "FREE_UPDATE"
    assert "renewal" not in free.json()

    refused = (
        await maintenance.client.get(
            "/eligibility", params={"key": lic.license_key, "version": "6.0.0"}, headers=ACME
        )
    ).json()
    assert refused["entitled"] is False and refused["code"] == "NOT_COVERED"
    assert refused["renewal"]["sku"] == "BP-CARE-12"
    assert refused["renewal"]["price"] == "41.30"
    assert ts(refused["renewal"]["starts_at"]) == at(2027, 1, 1)

    await maintenance.renew(lic.license_key, NOW)
    covered = (
        await maintenance.client.get(
            "/eligibility", params={"key": lic.license_key, "version": "6.0.0"}, headers=ACME
        )
    ).json()
    assert covered["entitled"] is True and covered["code"] == "COVERED"

    missing = await maintenance.client.get(
        "/eligibility", params={"key": lic.license_key, "version": "9.0"}, headers=ACME
    )
    assert missing.status_code == 404 and missing.json()["code"] == "RELEASE_NOT_FOUND"
    other = await maintenance.client.get(
        "/eligibility", params={"key": lic.license_key, "version": "6.0"}, headers=OTHER
    )
    assert other.status_code == 404


async def test_notices_are_sent_once_even_across_restarts(maintenance: Maintenance) -> None:
    lic = await maintenance.issue(at(2026, 10, 1))  # ends 2027-01-01, notice 2026-12-02
    revoked = await maintenance.issue(at(2026, 10, 1))
    await maintenance.apply(
        on_license_revoked,
        maintenance.event(
            LicenseRevoked(
                license_id=revoked.license_id,
                license_key=revoked.license_key,
                product="backup-pro",
                account_id="acme",
                at=NOW,
                reason="chargeback",
            ),
            revoked.license_id,
        ),
    )
    assert await maintenance.notices("expiring") == 0

    maintenance.clock.set(at(2026, 12, 5))
    assert await maintenance.notices("expiring") == 1
    assert await maintenance.notices("expiring") == 0
    expiring = maintenance.of(CoverageExpiring)
    assert [e.license_id for e in expiring] == [lic.license_id]
    assert str(expiring[0].renewal_price) == "41.30"

    await maintenance.stop()
    await maintenance.start()
    assert await maintenance.notices("expiring") == 0
    assert await maintenance.notices("lapsed") == 0

    maintenance.clock.set(at(2027, 1, 2))
    assert await maintenance.notices("lapsed") == 1
    await maintenance.stop()
    await maintenance.start()
    assert await maintenance.notices("lapsed") == 0
    assert await maintenance.notices("expiring") == 0
    lapsed = maintenance.of(CoverageLapsed)
    assert [e.license_id for e in lapsed] == [lic.license_id]
    assert lapsed[0].renew_until == at(2027, 4, 1)
    assert len(maintenance.of(CoverageExpiring)) == 1

    # A renewal moves the end: the new end gets its own notices.
    maintenance.clock.set(at(2027, 1, 10))
    await maintenance.renew(lic.license_key, at(2027, 1, 10))
    maintenance.clock.set(at(2027, 12, 20))
    assert await maintenance.notices("expiring") == 1


async def test_revocation_ends_coverage_once(maintenance: Maintenance) -> None:
    lic = await maintenance.issue(at(2026, 10, 1))
    event = maintenance.event(
        LicenseRevoked(
            license_id=lic.license_id,
            license_key=lic.license_key,
            product="backup-pro",
            account_id="acme",
            at=NOW,
            reason="refunded",
        ),
        lic.license_id,
    )
    await maintenance.apply(on_license_revoked, event)
    await maintenance.apply(on_license_revoked, event)
    ended = maintenance.of(CoverageEnded, lic.license_id)
    assert len(ended) == 1 and ended[0].reason == "refunded"
    body = await maintenance.coverage(lic.license_key)
    assert body["status"] == "ended" and body["license_status"] == "revoked"
    await maintenance.renew(lic.license_key, NOW + timedelta(days=1))
    assert [r.code for r in maintenance.of(RenewalRejected)] == ["LICENSE_NOT_ACTIVE"]


async def test_a_subscription_renewed_after_it_expired_is_active_again(
    maintenance: Maintenance,
) -> None:
    """Licensing renews an expired subscription to active; maintenance must follow, or the
    customer's updates stay refused while validation accepts the key."""
    lic = await maintenance.issue(at(2026, 10, 1))
    ref = {
        "license_id": lic.license_id,
        "license_key": lic.license_key,
        "product": lic.product,
        "account_id": "acme",
    }
    expired = LicenseExpired(**ref, expired_at=NOW)
    await maintenance.apply(on_license_expired, maintenance.event(expired, lic.license_id))
    assert (await maintenance.coverage(lic.license_key))["license_status"] == "expired"
    renewed = LicenseRenewed(**ref, expires_at=NOW + timedelta(days=365), renewed_at=NOW)
    await maintenance.apply(on_license_renewed, maintenance.event(renewed, lic.license_id))
    assert (await maintenance.coverage(lic.license_key))["license_status"] == "active"


async def test_transfer_moves_the_license_to_its_new_owner(maintenance: Maintenance) -> None:
    lic = await maintenance.issue(at(2026, 10, 1))
    await maintenance.apply(
        on_license_owner,
        maintenance.event(
            LicenseTransferred(
                license_id=lic.license_id,
                license_key=lic.license_key,
                product="backup-pro",
                account_id="other",
                from_account_id="acme",
                company="Other Ltd",
                contact_email="it@other.example",
                order_id="O-T",
                transferred_at=NOW,
            ),
            lic.license_id,
        ),
    )
    gone = await maintenance.client.get(f"/coverage/{lic.license_key}", headers=ACME)
    assert gone.status_code == 404
    assert (await maintenance.coverage(lic.license_key, OTHER))["status"] == "active"


async def test_a_new_major_is_announced_page_by_page(maintenance: Maintenance) -> None:
    covered = await maintenance.issue(at(2026, 10, 1))  # covered on 2026-12-01
    lapsed = await maintenance.issue(at(2024, 1, 1))
    await maintenance.renew(lapsed.license_key, at(2024, 3, 1))  # paid until 2025-04-01
    never = await maintenance.issue(at(2026, 10, 1), plan=None)
    old = await maintenance.issue(at(2026, 10, 1), major=6)
    await maintenance.publish("6.0.0", at(2026, 12, 1))
    await maintenance.publish("6.0.0", at(2026, 12, 1))  # redelivered: queued once
    await maintenance.publish("5.2.0", at(2026, 12, 2))  # maintenance release: no fan-out

    runs = 0
    while await fan_out_release(maintenance.runtime, maintenance.catalog, batch=1):
        runs += 1
    assert runs == 5  # four pages of one license, one empty page that closes the fan-out
    announced = {e.license_id: e for e in maintenance.of(UpgradeAvailable)}
    assert set(announced) == {covered.license_id, lapsed.license_id}
    assert announced[covered.license_id].entitled is True
    offer = announced[lapsed.license_id]
    assert offer.entitled is False and offer.version == "6.0.0"
    assert (offer.renewal_sku, str(offer.renewal_price), offer.currency) == (
        "BP-CARE-12",
        "59.00",
        "EUR",
    )
    assert never.license_id not in announced and old.license_id not in announced
    assert await fan_out_release(maintenance.runtime, maintenance.catalog) == 0


async def test_an_add_on_follows_its_base_license(maintenance: Maintenance) -> None:
    base = await maintenance.issue(at(2026, 10, 1))  # complimentary until 2027-01-01
    addon = await maintenance.issue(
        at(2026, 10, 1),
        plan=None,
        product="backup-exchange",
        edition="standard",
        sku="BP-EXCH",
        base_license_id=base.license_id,
    )
    # An add-on's versions are its base product's, as licensing's validation reads them.
    await maintenance.publish("6.0.0", at(2027, 3, 1), product="backup-pro")
    params = {"key": addon.license_key, "version": "6.0"}
    refused = (await maintenance.client.get("/eligibility", params=params, headers=ACME)).json()
    assert refused["code"] == "NOT_COVERED" and refused["renewal"]["price"] == "41.30"

    await maintenance.renew(base.license_key, NOW)
    covered = (await maintenance.client.get("/eligibility", params=params, headers=ACME)).json()
    assert covered["entitled"] is True and covered["code"] == "COVERED"


async def test_the_service_schedules_its_jobs(maintenance: Maintenance) -> None:
    definition = build(maintenance.settings)
    names = [job.name for job in definition.jobs(maintenance.runtime)]
    assert names == ["coverage.expiring", "coverage.lapsed", "release.fanout"]
