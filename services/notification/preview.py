"""Render any template with sample data, as the mail plan would fill it from an event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from entitle_events import new_event
from entitle_events.common import CoveragePeriod
from entitle_events.examples import example
from entitle_events.maintenance import CoverageStarted

from services.policy.catalog import Catalog

from .adapters.templates import Rendered, render
from .domain.digest import delivery_email
from .domain.mail_plan import RULES, PlannedEmail, plan_emails
from .domain.records import DigestItem

# Readable values for the fields a reader notices; the rest come from the models' examples.
_SAMPLE_VALUES: dict[str, Any] = {
    "product": "backup-pro",
    "order_id": "A-1001",
    "line_id": "1",
    "license_key": "eyJsIjoiOGJk...QifQ.Zm9yZ2Vk...c2lnbmF0dXJl",
    "company": "ACME GmbH",
    "number": "T-2026-000123",
    "link": "https://support.example.com/tickets/T-2026-000123",
    "survey_link": "https://support.example.com/tickets/T-2026-000123/survey",
    "version": "6.0.0",
    "subject": "Backup job fails after the update",
    "body": "Could you send us the log file of the last run?",
    "reason": "your account pays monthly; the payment mode is chosen with the first purchase",
    "codes": ["MC-7KQ4-XW3M-9TRP-HCFD", "MC-4NVJ-6WQK-3YRT-PMXA"],
}


def _readable(data: Any) -> Any:
    fields = type(data).model_fields
    return data.model_copy(update={k: v for k, v in _SAMPLE_VALUES.items() if k in fields})


def sample_emails(catalog: Catalog) -> dict[str, PlannedEmail]:
    """One planned email per template, from example events of every type."""
    found: dict[str, PlannedEmail] = {}
    for data_type in RULES:
        samples: list[Any] = [
            _readable(example(data_type, fill_optional=True)),
            _readable(example(data_type)),
        ]
        if data_type is CoverageStarted:  # coverage bought later, not with a new license
            start = datetime(2026, 11, 21, tzinfo=UTC)
            period = CoveragePeriod(
                starts_at=start, ends_at=start.replace(year=2027), source="purchase"
            )
            samples.append(samples[0].model_copy(update={"periods": [period]}))
        for data in samples:
            event = new_event(data, source="preview", subject="preview", time=datetime.now(UTC))
            for email in plan_emails(event, catalog):
                found.setdefault(email.template, email)
    start = datetime(2026, 11, 21, tzinfo=UTC)
    found["license_delivered"] = delivery_email(
        "A-1001",
        "it@acme.example",
        [
            DigestItem("A-1001", license_id, "backup-pro", key, True, end)
            for license_id, key, end in (
                ("lic-1", _SAMPLE_VALUES["license_key"], start.replace(year=2027)),
                ("lic-2", "eyJsIjoiZjAx...In0.c2Vjb25k...a2V5", None),
            )
        ],
        catalog,
    )
    found["sign_in"] = PlannedEmail(
        "sign_in",
        "it@acme.example",
        transactional=True,
        data={
            "link": "https://support.example.com/sign-in/link#token=Rk9SR0VE",
            "area": "portal",
            "expires_at": start,
            "brand": catalog.brand.model_dump(),
        },
    )
    return found


def preview(template: str, catalog: Catalog) -> Rendered:
    emails = sample_emails(catalog)
    if template not in emails:
        raise KeyError(f"unknown template {template!r}; known: {', '.join(sorted(emails))}")
    return render(template, emails[template].data)
