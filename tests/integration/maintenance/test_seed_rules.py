"""Seed rules that maintenance once got wrong, each run on the preset of its seed."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from entitle_events.commerce import OrderRefunded
from entitle_events.maintenance import (
    CoverageExtended,
    CoverageStarted,
    CoverageWithdrawn,
    MaintenanceCodesIssued,
    RenewalRejected,
    UpgradeAvailable,
)

from services.maintenance.handlers.notices import fan_out_release
from services.maintenance.handlers.orders import on_order_refunded

from .conftest import ACME, ADMIN, Maintenance, at, ts

Preset = Callable[[str], AbstractAsyncContextManager[Maintenance]]


async def _codes(m: Maintenance, sku: str, quantity: int = 1) -> list[str]:
    await m.order(at(2026, 3, 1), {"sku": sku, "quantity": quantity})
    return [c for e in m.of(MaintenanceCodesIssued) if e.sku == sku for c in e.codes]


async def test_a_pack_bought_separately_is_associated_with_a_license_bought_without_one(
    maintenance_for: Preset,
) -> None:
    """Seed 002: "If you have a VisualCron license but no Maintenance Pack license you can
    purchase the Maintenance Pack license separately ... associate your existing license";
    a second code "will increase the maintenance date on the same" license."""
    async with maintenance_for("scheduler-maintenance.toml") as m:
        lic = await m.issue(
            at(2026, 1, 10),
            major=9,
            plan="no-pack",
            product="task-scheduler",
            edition="server",
            sku="TS-SRV",
        )
        first, second = await _codes(m, "TS-MAINT-SRV", quantity=2)
        associated = await m.client.post(
            "/associations",
            json={"maintenance_code": first, "license_key": lic.license_key},
            headers=ACME,
        )
        assert associated.status_code == 201, associated.text
        body = associated.json()
        # exactly 12 months from the day the pack was bought
        assert (ts(body["periods"][0]["starts_at"]), ts(body["ends_at"])) == (
            at(2026, 3, 1),
            at(2027, 3, 1),
        )
        again = await m.client.post(
            "/associations",
            json={"maintenance_code": second, "license_key": lic.license_key},
            headers=ACME,
        )
        assert again.status_code == 201 and ts(again.json()["ends_at"]) == at(2028, 3, 1)


async def test_a_site_pack_does_not_maintain_a_server_license(maintenance_for: Preset) -> None:
    """Seed 002: the 1-Server pack and the Site pack are sold per edition."""
    async with maintenance_for("scheduler-maintenance.toml") as m:
        lic = await m.issue(
            at(2026, 1, 10), major=9, plan="no-pack", product="task-scheduler", edition="server"
        )
        [site] = await _codes(m, "TS-MAINT-SITE")
        refused = await m.client.post(
            "/associations",
            json={"maintenance_code": site, "license_key": lic.license_key},
            headers=ADMIN,
        )
        assert refused.status_code == 422
        assert refused.json()["code"] == "CODE_WRONG_EDITION"


async def test_the_renewal_notice_goes_out_one_calendar_month_before_expiry(
    maintenance_for: Preset,
) -> None:
    """Seed 002: "The email will be sent one month before the expiration date"."""
    async with maintenance_for("scheduler-maintenance.toml") as m:
        lic = await m.issue(
            at(2026, 1, 15), major=9, plan="pack", product="task-scheduler", edition="server"
        )
        body = await m.coverage(lic.license_key)
        assert ts(body["ends_at"]) == at(2027, 1, 15)
        assert ts(body["notice_at"]) == at(2026, 12, 15)  # not 30 days before (16 Dec)
        m.clock.set(at(2026, 12, 15))
        assert await m.notices("expiring") == 1


async def test_multi_year_maintenance_is_extended_as_quoted(maintenance_for: Preset) -> None:
    """Seed 003: "You are offered to extend the maintenance contract for 1, 2 or 3 years";
    the quote and the order it quotes agree (one function answers both)."""
    async with maintenance_for("disaster-recovery.toml") as m:
        lic = await m.issue(
            at(2022, 1, 10),
            major=10,
            plan="maintenance-3y",
            product="image-backup",
            edition="windows-server",
            sku="IB-WS-3Y",
        )
        assert (await m.coverage(lic.license_key))["status"] == "lapsed"
        params = {"key": lic.license_key, "sku": "IB-WS-RENEW-1Y"}
        quote = (await m.client.get("/renewal-quote", params=params, headers=ADMIN)).json()
        assert quote["allowed"] is True and quote["price"] == "90.00"
        await m.order(m.clock.now(), {"sku": "IB-WS-RENEW-1Y", "license_key": lic.license_key})
        assert m.of(RenewalRejected) == []
        [extended] = m.of(CoverageExtended, lic.license_id)
        assert (extended.period.starts_at, extended.period.ends_at) == (
            ts(quote["starts_at"]),
            ts(quote["ends_at"]),
        )
        # another edition's renewal is refused alike by the quote and by the order
        params["sku"] = "IB-HV-RENEW-1Y"
        other = (await m.client.get("/renewal-quote", params=params, headers=ADMIN)).json()
        assert (other["allowed"], other["code"]) == (False, "WRONG_EDITION")
        await m.order(m.clock.now(), {"sku": "IB-HV-RENEW-1Y", "license_key": lic.license_key})
        assert [r.code for r in m.of(RenewalRejected)] == ["WRONG_EDITION"]


async def test_a_v4_license_starts_without_the_care_a_v5_license_gets(
    maintenance_for: Preset,
) -> None:
    """Seed 000: "Version 3 and version 4 users can only purchase BackupCare by first
    upgrading to Version 5"; the 3 free months come "with a new BackupAssist v5 license"."""
    async with maintenance_for("backup-care.toml") as m:
        common = {"plan": "care", "product": "backup-manager", "edition": "server"}
        v4 = await m.issue(at(2026, 11, 1), major=4, **common)
        v5 = await m.issue(at(2026, 11, 1), major=5, **common)
        assert m.of(CoverageStarted, v4.license_id) == []
        assert [p.source for p in m.of(CoverageStarted, v5.license_id)[0].periods] == [
            "complimentary"
        ]
        await m.renew_with(v4.license_key, "BM-CARE-12")
        assert [r.code for r in m.of(RenewalRejected)] == ["VERSION_TOO_OLD"]
        # the full-price upgrade to 5 includes 12 months and lifts the restriction
        await m.order(m.clock.now(), {"sku": "BM-UPG-SRV", "license_key": v4.license_key})
        [upgrade] = m.of(CoverageExtended, v4.license_id)
        assert upgrade.period.source == "upgrade"
        assert upgrade.period.ends_at == m.clock.now().replace(year=2027)


async def test_a_refunded_renewal_takes_its_cover_back(maintenance_for: Preset) -> None:
    async with maintenance_for("backup-care.toml") as m:
        lic = await m.issue(
            at(2026, 11, 1), major=5, plan="care", product="backup-manager", edition="server"
        )
        renewal = await m.renew_with(lic.license_key, "BM-CARE-12")
        assert (await m.coverage(lic.license_key))["periods"][-1]["source"] == "renewal"
        refund = OrderRefunded(order_id=renewal.data.order_id, refunded_at=m.clock.now())
        await m.apply(on_order_refunded, m.event(refund, refund.order_id), m.catalog)
        await m.apply(on_order_refunded, m.event(refund, refund.order_id), m.catalog)
        [withdrawn] = m.of(CoverageWithdrawn, lic.license_id)
        assert [p.source for p in withdrawn.periods] == ["renewal"]
        assert withdrawn.ends_at == at(2027, 2, 1)  # the complimentary months remain
        body = await m.coverage(lic.license_key)
        assert [p["source"] for p in body["periods"]] == ["complimentary"]
        assert ts(body["ends_at"]) == at(2027, 2, 1)


async def test_a_refunded_code_cannot_be_associated_and_its_cover_is_withdrawn(
    maintenance_for: Preset,
) -> None:
    async with maintenance_for("scheduler-maintenance.toml") as m:
        lic = await m.issue(
            at(2026, 1, 10), major=9, plan="no-pack", product="task-scheduler", edition="server"
        )
        used, spare = await _codes(m, "TS-MAINT-SRV", quantity=2)
        body = {"maintenance_code": used, "license_key": lic.license_key}
        assert (await m.client.post("/associations", json=body, headers=ADMIN)).status_code == 201
        [sold] = m.of(MaintenanceCodesIssued)
        refund = OrderRefunded(order_id=sold.order_id, refunded_at=m.clock.now())
        await m.apply(on_order_refunded, m.event(refund, refund.order_id), m.catalog)
        [withdrawn] = m.of(CoverageWithdrawn, lic.license_id)
        assert withdrawn.ends_at is None and withdrawn.periods[0].source == "association"
        assert (await m.coverage(lic.license_key))["status"] == "none"
        body["maintenance_code"] = spare
        refused = await m.client.post("/associations", json=body, headers=ADMIN)
        assert (refused.status_code, refused.json()["code"]) == (409, "CODE_REFUNDED")


async def test_a_new_major_is_announced_to_add_on_licenses_with_their_base(
    maintenance_for: Preset,
) -> None:
    """Seed 000: "All associated add-on licenses ... are upgraded for free whenever you
    upgrade BackupAssist to a new version"."""
    async with maintenance_for("backup-care.toml") as m:
        base = await m.issue(
            at(2026, 11, 1), major=5, plan="care", product="backup-manager", edition="server"
        )
        addon = await m.issue(
            at(2026, 11, 2),
            major=5,
            plan=None,
            product="mailbox-addon",
            edition="standard",
            sku="BM-MAILBOX",
            base_license_id=base.license_id,
        )
        await m.publish("6.0.0", at(2026, 12, 1), product="backup-manager")
        while await fan_out_release(m.runtime, m.catalog):
            pass
        told = {e.license_id: e for e in m.of(UpgradeAvailable)}
        assert told[base.license_id].entitled and told[addon.license_id].entitled
        assert told[addon.license_id].product == "mailbox-addon"
