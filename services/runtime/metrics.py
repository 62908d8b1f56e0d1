"""Prometheus metrics of the runtime; each service process exposes them at /metrics."""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

EVENTS_CONSUMED = Counter(
    "entitle_events_consumed_total",
    "Events read by the consumer, by topic, type and outcome.",
    ["topic", "type", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "entitle_handler_seconds",
    "Time to apply one partition batch in one transaction.",
    ["topic"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
CONSUMER_RETRIES = Counter(
    "entitle_consumer_retries_total", "Partition batches retried after a transient error."
)
COMMIT_FAILURES = Counter(
    "entitle_offset_commit_failures_total",
    "Offset commits that failed (the batch is redelivered and deduplicated by the inbox).",
)
CONSUMER_LAG = Gauge(
    "entitle_consumer_lag",
    "Records behind the partition's end, from the group's committed offsets on the broker.",
    ["group", "topic", "partition"],
    multiprocess_mode="max",  # every copy measures the same group: one value
)
DEAD_LETTERS = Counter(
    "entitle_dead_letters_total", "Events sent to a dead-letter topic.", ["topic", "error"]
)
OUTBOX_PUBLISHED = Counter("entitle_outbox_published_total", "Outbox rows published.")
OUTBOX_FAILURES = Counter("entitle_outbox_failures_total", "Outbox relay batches that failed.")
OUTBOX_BACKLOG = Gauge("entitle_outbox_backlog", "Outbox rows waiting to be published.")
OUTBOX_PARKED = Gauge(
    "entitle_outbox_parked",
    "Outbox rows parked after their last attempt failed; later rows of their keys wait.",
    multiprocess_mode="max",
)
OUTBOX_PARKED_TOTAL = Counter(
    "entitle_outbox_rows_parked", "Outbox rows parked, by topic.", ["topic"]
)
OUTBOX_AGE = Gauge("entitle_outbox_oldest_seconds", "Age of the oldest unpublished outbox row.")
SCHEDULER_RUNS = Counter(
    "entitle_scheduler_runs_total", "Scheduler runs by job and outcome.", ["job", "outcome"]
)
HTTP_REQUESTS = Counter(
    "entitle_http_requests_total",
    "HTTP requests by method, route and status.",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "entitle_http_request_seconds",
    "HTTP request latency by method and route.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """One HTTP request answered, whichever path answered it."""
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_SECONDS.labels(method, route).observe(seconds)


def exposition() -> bytes:
    """What /metrics answers. With several worker processes (PROMETHEUS_MULTIPROC_DIR set by
    `entitle serve`), every worker's samples, whichever worker answers."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
