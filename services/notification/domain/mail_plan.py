"""Which emails an event produces, to whom, with what data. Pure rules.

Transactional mail (license keys, coverage, renewal notices, tickets) is always sent;
non-transactional mail (upgrade offers) is not sent to a suppressed address and carries a
one-click unsubscribe header.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from entitle_events import Event, EventData
from entitle_events.licensing import (
    LicenseAssigned,
    LicenseTransferred,
    OrderLineRejected,
)
from entitle_events.maintenance import (
    CoverageExpiring,
    CoverageExtended,
    CoverageLapsed,
    CoverageStarted,
    CoverageWithdrawn,
    MaintenanceCodesIssued,
    RenewalRejected,
    UpgradeAvailable,
)
from entitle_events.ticketing import (
    TicketClosed,
    TicketOpened,
    TicketPending,
    TicketRejected,
    TicketResponded,
    TicketSlaBreached,
    TicketSlaWarning,
    TicketSolved,
)

from services.policy.catalog import Catalog


@dataclass(frozen=True)
class PlannedEmail:
    template: str
    recipient: str
    transactional: bool
    data: dict[str, Any] = field(default_factory=dict)
    account_id: str | None = None
    """The account the email concerns: only its own API keys see the delivery."""


Rule = Callable[[Any, Catalog], list[PlannedEmail]]


def _email(template: str, to: str, data: EventData, catalog: Catalog, **extra: Any) -> PlannedEmail:
    fields = data.model_dump()
    product = fields.get("product")
    if isinstance(product, str):
        known = catalog.product(product)
        fields["product_code"] = product
        fields["product"] = known.name if known else product
    fields["brand"] = catalog.brand_of(product if isinstance(product, str) else None).model_dump()
    return PlannedEmail(
        template,
        to,
        transactional=True,
        data={**fields, **extra},
        account_id=getattr(data, "account_id", None),
    )


def _coverage_started(data: CoverageStarted, catalog: Catalog) -> list[PlannedEmail]:
    # Coverage that came with a new license is told in the license delivery (digest.py).
    if any(p.source in ("complimentary", "included") for p in data.periods):
        return []
    return [_email("coverage_started", data.contact_email, data, catalog)]


def _upgrade(data: UpgradeAvailable, catalog: Catalog) -> list[PlannedEmail]:
    email = _email("upgrade_available", data.contact_email, data, catalog)
    return [dataclasses.replace(email, transactional=False)]


def _to_assignee(template: str) -> Rule:
    """Internal mail to the agent a ticket is assigned to; nothing while unassigned (the desk
    shows the ticket at risk to everyone)."""

    def rule(data: TicketSlaWarning | TicketSlaBreached, catalog: Catalog) -> list[PlannedEmail]:
        if data.assignee is None or data.desk_link is None:
            return []
        return [_email(template, data.assignee, data, catalog)]

    return rule


def _one(template: str, recipient: str) -> Rule:
    def rule(data: Any, catalog: Catalog) -> list[PlannedEmail]:
        return [_email(template, getattr(data, recipient), data, catalog)]

    return rule


RULES: dict[type[EventData], Rule] = {
    LicenseAssigned: _one("license_assigned", "contact_email"),
    LicenseTransferred: _one("license_assigned", "contact_email"),
    OrderLineRejected: _one("order_line_rejected", "contact_email"),
    CoverageStarted: _coverage_started,
    CoverageExtended: _one("coverage_extended", "contact_email"),
    CoverageExpiring: _one("renewal_notice", "contact_email"),
    CoverageLapsed: _one("coverage_lapsed", "contact_email"),
    CoverageWithdrawn: _one("coverage_withdrawn", "contact_email"),
    RenewalRejected: _one("renewal_rejected", "contact_email"),
    MaintenanceCodesIssued: _one("maintenance_codes", "contact_email"),
    UpgradeAvailable: _upgrade,
    TicketOpened: _one("ticket_opened", "email"),
    TicketRejected: _one("ticket_rejected", "email"),
    TicketResponded: _one("ticket_reply", "email"),
    TicketPending: _one("ticket_pending", "email"),
    TicketSolved: _one("ticket_solved", "email"),
    TicketClosed: _one("ticket_closed", "email"),
    TicketSlaWarning: _to_assignee("agent_sla_warning"),
    TicketSlaBreached: _to_assignee("agent_sla_breached"),
}


def plan_emails(event: Event[Any], catalog: Catalog) -> list[PlannedEmail]:
    rule = RULES.get(type(event.data))
    return rule(event.data, catalog) if rule else []
