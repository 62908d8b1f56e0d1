"""The topic catalog: one topic per owning aggregate, keyed by aggregate id."""

from __future__ import annotations

from dataclasses import dataclass

COMMERCE_ORDERS = "commerce.orders"
LICENSING_LICENSES = "licensing.licenses"
LICENSING_RELEASES = "licensing.releases"
MAINTENANCE_COVERAGE = "maintenance.coverage"
TICKETING_TICKETS = "ticketing.tickets"
NOTIFICATION_DELIVERIES = "notification.deliveries"
PORTAL_SIGN_INS = "portal.sign-ins"


@dataclass(frozen=True)
class Topic:
    name: str
    owner: str
    key: str
    description: str


TOPICS: dict[str, Topic] = {
    t.name: t
    for t in (
        Topic(COMMERCE_ORDERS, "ingress", "order id", "Orders placed and refunded by the shop."),
        Topic(LICENSING_LICENSES, "licensing", "license id", "Every change of a license."),
        Topic(LICENSING_RELEASES, "licensing", "product code", "Product versions published."),
        Topic(
            MAINTENANCE_COVERAGE,
            "maintenance",
            "license id",
            "Maintenance coverage, renewals and upgrade offers per license.",
        ),
        Topic(TICKETING_TICKETS, "ticketing", "ticket id", "Support tickets and their SLA."),
        Topic(
            NOTIFICATION_DELIVERIES,
            "notification",
            "delivery id",
            "What happened to every email Entitle sent.",
        ),
        Topic(
            PORTAL_SIGN_INS,
            "portal",
            "address digest",
            "Sign-in links to email (sealed: readers of the topic cannot use them).",
        ),
    )
}


def dead_letter_topic(topic: str, consumer_group: str) -> str:
    """Dead letters are kept per source topic and consumer group."""
    return f"{topic}.{consumer_group}.dlt"
