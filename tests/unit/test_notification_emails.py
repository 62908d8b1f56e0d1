"""Which emails events produce, and how the templates render."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from entitle_events import Event, new_event
from entitle_events.common import CoveragePeriod, CoverageSource
from entitle_events.licensing import LicenseExpired, LicenseIssued
from entitle_events.maintenance import CoverageStarted
from jinja2 import UndefinedError
from markupsafe import escape

from services.catalog import Catalog, load_catalog
from services.notification.adapters.templates import render, template_names
from services.notification.domain.mail_plan import plan_emails

CATALOG = load_catalog()
PURCHASED = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
COVER_END = datetime(2027, 2, 21, 10, 0, tzinfo=UTC)
KEY = "eyJsIjoibGljLTEifQ.c2lnbmF0dXJl"


def event(data: Any) -> Event[Any]:
    return new_event(data, source="tests", subject=data.license_id, time=PURCHASED)


def issued(coverage_expected: bool, product: str = "backup-pro") -> LicenseIssued:
    return LicenseIssued(
        license_id="lic-1",
        license_key=KEY,
        product=product,
        account_id="acme",
        kind="perpetual",
        edition="server",
        sku="BP-SRV",
        company="ACME GmbH",
        contact_email="it@acme.example",
        order_id="O-1",
        line_id="1",
        purchased_at=PURCHASED,
        major_version=5,
        max_activations=1,
        payment_mode="annual",
        maintenance_plan="backup-care-12" if coverage_expected else None,
        coverage_expected=coverage_expected,
    )


def started(*sources: CoverageSource, product: str = "backup-pro") -> CoverageStarted:
    periods = [CoveragePeriod(starts_at=PURCHASED, ends_at=COVER_END, source=s) for s in sources]
    return CoverageStarted(
        license_id="lic-1",
        license_key=KEY,
        product=product,
        account_id="acme",
        contact_email="owner@acme.example",
        plan="backup-care-12",
        order_id="O-1",
        periods=periods,
        ends_at=COVER_END,
    )


# --------------------------------------------------------------------------- plan


def test_license_without_coverage_is_delivered_at_once() -> None:
    (email,) = plan_emails(event(issued(coverage_expected=False)), CATALOG)
    assert email.template == "license_delivered"
    assert email.recipient == "it@acme.example"
    assert email.transactional is True
    assert email.data["license_key"] == KEY
    assert email.data["product"] == "Backup Pro"  # catalog name, not code
    assert email.data["order_id"] == "O-1"
    assert email.data["coverage_ends_at"] is None


def test_license_with_coverage_waits_for_coverage() -> None:
    assert plan_emails(event(issued(coverage_expected=True)), CATALOG) == []


@pytest.mark.parametrize("source", ["complimentary", "included"])
def test_initial_coverage_delivers_key_with_coverage_end(source: str) -> None:
    (email,) = plan_emails(event(started(source)), CATALOG)
    assert email.template == "license_delivered"
    assert email.recipient == "owner@acme.example"
    assert email.data["license_key"] == KEY
    assert email.data["coverage_ends_at"] == COVER_END

    rendered = render(email.template, email.data)
    assert KEY in rendered.text
    assert KEY in rendered.html
    assert "21 February 2027" in rendered.text
    assert "21 February 2027" in rendered.html
    assert "Backup Pro" in rendered.subject
    assert "O-1" in rendered.subject


def test_purchased_coverage_gets_coverage_started_email() -> None:
    (email,) = plan_emails(event(started("purchase")), CATALOG)
    assert email.template == "coverage_started"
    assert email.recipient == "owner@acme.example"
    assert email.data == {"product": "Backup Pro", "license_key": KEY, "ends_at": COVER_END}
    rendered = render(email.template, email.data)
    assert "21 February 2027" in rendered.text
    assert KEY in rendered.text


def test_unknown_product_falls_back_to_code() -> None:
    (email,) = plan_emails(event(issued(False, product="mystery-tool")), CATALOG)
    assert email.data["product"] == "mystery-tool"


def test_other_events_send_nothing() -> None:
    expired = LicenseExpired(
        license_id="lic-1",
        license_key=KEY,
        product="backup-pro",
        account_id="acme",
        expired_at=PURCHASED,
    )
    assert plan_emails(event(expired), CATALOG) == []


# --------------------------------------------------------------------------- templates

SAMPLES: dict[str, dict[str, Any]] = {
    "license_delivered": {
        "product": "Backup Pro",
        "license_key": KEY,
        "license_id": "lic-1",
        "account_id": "acme",
        "order_id": "O-1",
        "coverage_ends_at": COVER_END,
    },
    "coverage_started": {"product": "Backup Pro", "license_key": KEY, "ends_at": COVER_END},
}


def test_templates_are_known() -> None:
    assert template_names() == sorted(SAMPLES)


@pytest.mark.parametrize("name", template_names())
def test_every_template_renders(name: str) -> None:
    rendered = render(name, SAMPLES[name])
    assert rendered.subject.strip()
    assert "\n" not in rendered.subject
    assert "Backup Pro" in rendered.subject
    assert KEY in rendered.text
    assert rendered.text.endswith("\n")
    assert "{{" not in rendered.text and "{%" not in rendered.text
    assert rendered.html.lstrip().lower().startswith("<!doctype html>")
    assert KEY in rendered.html
    assert "21 February 2027" in rendered.text


@pytest.mark.parametrize("name", template_names())
def test_missing_variable_fails_loudly(name: str) -> None:
    data = dict(SAMPLES[name])
    del data["license_key"]
    with pytest.raises(UndefinedError, match="license_key"):
        render(name, data)


def test_dates_given_as_iso_strings_render() -> None:
    data = {**SAMPLES["coverage_started"], "ends_at": COVER_END.isoformat()}
    assert "21 February 2027" in render("coverage_started", data).text


def test_no_coverage_end_omits_the_sentence() -> None:
    data = {**SAMPLES["license_delivered"], "coverage_ends_at": None}
    rendered = render("license_delivered", data)
    assert "Maintenance covers" not in rendered.text
    assert "Maintenance covers" not in rendered.html


EVIL = '<script>alert("x")</script> & Co'


@pytest.mark.parametrize("name", template_names())
def test_html_is_autoescaped_and_text_is_verbatim(name: str) -> None:
    rendered = render(name, {**SAMPLES[name], "product": EVIL})
    assert "<script>" not in rendered.html
    assert str(escape(EVIL)) in rendered.html
    assert EVIL in rendered.text
    assert EVIL in rendered.subject


def test_hostile_product_name_from_catalog_is_escaped_end_to_end() -> None:
    data = CATALOG.model_dump()
    data["products"][0]["name"] = EVIL
    catalog = Catalog.model_validate(data)
    (email,) = plan_emails(event(started("complimentary")), catalog)
    rendered = render(email.template, email.data)
    assert "<script>" not in rendered.html
    assert str(escape(EVIL)) in rendered.html
    assert EVIL in rendered.text
