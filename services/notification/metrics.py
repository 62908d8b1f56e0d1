"""Prometheus metrics of notification, served with the runtime's at /metrics."""

from __future__ import annotations

from typing import Literal

from prometheus_client import Counter

Outcome = Literal["sent", "retried", "failed", "suppressed"]

EMAILS = Counter(
    "entitle_emails_total",
    "Emails by template and outcome of a send: sent, retried (transient failure, sent again "
    "later), failed (permanent or out of attempts), suppressed (address suppressed).",
    ["template", "outcome"],
)
