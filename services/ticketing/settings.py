from __future__ import annotations

from pydantic import Field

from services.runtime.settings import RuntimeSettings

from .domain.tiers import SupportPolicy


class TicketingSettings(RuntimeSettings):
    service: str = "ticketing"
    portal_url: str = Field(
        default="https://support.example.com",
        description="The customer portal; a ticket's link is this URL + `/tickets/` + its number.",
    )
    forum_only_without_plan: bool = Field(
        default=False,
        description="No tickets without a plan: such requests are refused with the forum URL.",
    )
    trial_days: int = Field(default=15, ge=0, description="Trial support days from registration.")
    support_timezone: str = Field(
        default="Europe/Berlin", description="Time zone counting the trial's calendar days."
    )
    forum_url: str = Field(default="https://forum.example.com/", description="Community forum.")
    docs_url: str = Field(
        default="https://docs.example.com/", description="Pointer for discontinued versions."
    )
    plans_url: str = Field(
        default="https://shop.example.com/support-plans",
        description="Pointer when a request kind needs a plan.",
    )
    setup_assistance_products: list[str] = Field(
        default=[], description="Products whose purchase includes setup assistance."
    )
    support_plan_months: int = Field(
        default=12, ge=1, description="Term of a support-plan SKU without its own term_months."
    )

    def policy(self) -> SupportPolicy:
        return SupportPolicy(
            forum_only_without_plan=self.forum_only_without_plan,
            trial_days=self.trial_days,
            timezone=self.support_timezone,
            forum_url=self.forum_url,
            docs_url=self.docs_url,
            plans_url=self.plans_url,
        )
