"""After one order, every service's /metrics shows the series operators watch, with the
labels the dashboard groups by and the counts the order must have produced."""

from __future__ import annotations

import contextlib

import httpx
from entitle_cli.webhook_client import post_order, sample_order
from entitle_dev.stack import SERVICES, Stack
from entitle_events.commerce import OrderPlaced
from entitle_events.licensing import LicenseIssued
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.helpers import OPERATIONS_SERIES, wait_until

from .conftest import mails_for, webhook

ORDERS = {"topic": "commerce.orders", "type": OrderPlaced.event_type, "outcome": "processed"}
LICENSES = {"topic": "licensing.licenses", "type": LicenseIssued.event_type, "outcome": "processed"}
WEBHOOK = {"route": "/webhooks/orders", "method": "POST"}

# Per service: (sample, labels it must carry) pairs that one processed order makes positive.
POSITIVE: dict[str, list[tuple[str, dict[str, str]]]] = {
    "ingress": [
        ("entitle_http_requests_total", {**WEBHOOK, "status": "202"}),
        ("entitle_http_request_seconds_count", WEBHOOK),
        ("entitle_outbox_published_total", {}),
    ],
    "licensing": [
        ("entitle_events_consumed_total", ORDERS),
        ("entitle_handler_seconds_count", {"topic": "commerce.orders"}),
        ("entitle_outbox_published_total", {}),
        ("entitle_scheduler_runs_total", {"job": "expire-licenses", "outcome": "ok"}),
    ],
    "maintenance": [
        ("entitle_events_consumed_total", LICENSES),
        ("entitle_handler_seconds_count", {"topic": "licensing.licenses"}),
        ("entitle_outbox_published_total", {}),
    ],
    "ticketing": [("entitle_events_consumed_total", ORDERS)],
    "notification": [
        ("entitle_events_consumed_total", LICENSES),
        ("entitle_emails_total", {"template": "license_delivered", "outcome": "sent"}),
        ("entitle_scheduler_runs_total", {"job": "send-email", "outcome": "ok"}),
        ("entitle_outbox_published_total", {}),
    ],
}
# Gauges that may rightly read 0 but must exist once the service has done the work.
OUTBOX_GAUGES = [("entitle_outbox_backlog", {}), ("entitle_outbox_oldest_seconds", {})]
LAG = {
    "licensing": "commerce.orders",
    "maintenance": "licensing.licenses",
    "ticketing": "commerce.orders",
    "notification": "licensing.licenses",
}
PRESENT: dict[str, list[tuple[str, dict[str, str]]]] = {
    service: [
        *OUTBOX_GAUGES,
        *([("entitle_consumer_lag", {"topic": LAG[service]})] if service in LAG else []),
    ]
    for service in SERVICES
}


def scrape(stack: Stack, service: str) -> tuple[set[str], list[Sample]]:
    """The metric families a service declares and all its samples."""
    text = httpx.get(f"{stack.url(service)}/metrics", timeout=10).text
    families = list(text_string_to_metric_families(text))
    return {f.name for f in families}, [s for f in families for s in f.samples]


def matching(samples: list[Sample], name: str, labels: dict[str, str]) -> list[float]:
    return [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]


def unmet(stack: Stack) -> list[str]:
    problems = []
    for service in SERVICES:
        declared, samples = scrape(stack, service)
        wanted = [
            s for s in OPERATIONS_SERIES if s != "entitle_emails" or service == "notification"
        ]
        problems += [f"{service}: no family {name}" for name in wanted if name not in declared]
        for name, labels in POSITIVE.get(service, []):
            if sum(matching(samples, name, labels)) <= 0:
                problems.append(f"{service}: {name}{labels} not positive")
        for name, labels in PRESENT.get(service, []):
            if not matching(samples, name, labels):
                problems.append(f"{service}: no {name}{labels}")
    return problems


def test_one_order_shows_in_every_services_metrics(stack: Stack) -> None:
    order = sample_order()
    with httpx.Client(timeout=10) as client:
        response = post_order(client, webhook(stack), stack.secrets.webhook_secret, order)
    assert response.status_code == 202, response.text
    wait_until(lambda: mails_for(stack.mail_dir, order["order_id"]), timeout=60)
    # Offsets (and the lag gauge) are committed just after the handlers' transactions.
    with contextlib.suppress(AssertionError):
        wait_until(lambda: not unmet(stack), timeout=15)
    assert unmet(stack) == []
