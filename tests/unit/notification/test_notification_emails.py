"""Which emails events produce, and how the templates render."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from entitle_cli.main import app
from entitle_events import Event, new_event
from entitle_events.common import CoveragePeriod, CoverageSource
from entitle_events.licensing import LicenseExpired, LicenseIssued
from entitle_events.maintenance import CoverageStarted, CoverageWithdrawn
from entitle_events.ticketing import (
    TicketAssigned,
    TicketNoteAdded,
    TicketSlaWarning,
    TicketTierChanged,
)
from jinja2 import UndefinedError
from markupsafe import escape
from typer.testing import CliRunner

from services.notification.adapters.templates import render, template_names
from services.notification.domain.digest import (
    complete,
    delivery_email,
    delivery_emails,
    license_item,
)
from services.notification.domain.mail_plan import RULES, plan_emails
from services.notification.domain.records import DigestItem
from services.notification.preview import sample_emails
from services.policy.catalog import Catalog, load_catalog
from tests.unit.events.test_events import build

CATALOG = load_catalog()
PURCHASED = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
COVER_END = datetime(2027, 2, 21, 10, 0, tzinfo=UTC)
KEY = "eyJsIjoibGljLTEifQ.c2lnbmF0dXJl"


def listed(product: str, license_key: str, coverage_ends_at: datetime | None) -> DigestItem:
    return DigestItem("O-1", f"lic-{license_key}", product, license_key, True, coverage_ends_at)


def event(data: Any) -> Event[Any]:
    return new_event(data, source="tests", subject="subject-1", time=PURCHASED)


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


def test_a_license_without_coverage_is_ready_at_once_and_one_with_coverage_waits() -> None:
    plain = license_item(event(issued(coverage_expected=False)))
    waiting = license_item(event(issued(coverage_expected=True)))
    assert plain is not None and plain.ready and plain.licenses_in_order == 1
    assert waiting is not None and not waiting.ready
    assert plan_emails(event(issued(coverage_expected=False)), CATALOG) == []  # via the digest


@pytest.mark.parametrize("source", ["complimentary", "included"])
def test_initial_coverage_makes_its_license_ready_with_the_coverage_end(source: str) -> None:
    item = license_item(event(started(source)))
    assert item is not None and item.ready and item.coverage_ends_at == COVER_END
    assert item.recipient == "owner@acme.example" and item.license_key == KEY
    assert plan_emails(event(started(source)), CATALOG) == []


def test_purchased_coverage_is_no_license_delivery() -> None:
    assert license_item(event(started("purchase"))) is None


@pytest.mark.parametrize(
    ("expected", "ready", "done"),
    [(None, 3, False), (0, 0, False), (2, 1, False), (2, 2, True), (1, 2, True)],
)
def test_the_delivery_waits_for_every_license_of_the_order(
    expected: int | None, ready: int, done: bool
) -> None:
    assert complete(expected, ready) is done


def test_one_email_carries_every_license_of_the_order() -> None:
    items = [
        listed("backup-pro", KEY, COVER_END),
        listed("mystery-tool", "SECOND-KEY", None),
    ]
    email = delivery_email("O-1", "it@acme.example", items, CATALOG)
    assert (email.template, email.recipient, email.transactional) == (
        "license_delivered",
        "it@acme.example",
        True,
    )
    rendered = render(email.template, email.data)
    assert rendered.subject == "Your 2 license keys (order O-1)"
    for part in (rendered.text, rendered.html):
        assert KEY in part and "SECOND-KEY" in part
        assert "Backup Pro" in part and "mystery-tool" in part  # catalog name, else the code
        assert part.count("21 February 2027") == 1
    single = render(email.template, delivery_email("O-1", "x@y.example", items[:1], CATALOG).data)
    assert single.subject == "Your Backup Pro license key (order O-1)"


def test_purchased_coverage_gets_coverage_started_email() -> None:
    (email,) = plan_emails(event(started("purchase")), CATALOG)
    assert email.template == "coverage_started"
    assert email.recipient == "owner@acme.example"
    assert (email.data["product"], email.data["license_key"], email.data["ends_at"]) == (
        "Backup Pro",
        KEY,
        COVER_END,
    )
    rendered = render(email.template, email.data)
    assert "21 February 2027" in rendered.text
    assert KEY in rendered.text


def test_a_refund_that_takes_cover_back_tells_the_customer() -> None:
    withdrawn = CoverageWithdrawn(
        license_id="lic-1",
        license_key=KEY,
        product="backup-pro",
        account_id="acme",
        contact_email="owner@acme.example",
        order_id="O-9",
        periods=[
            CoveragePeriod(
                starts_at=COVER_END, ends_at=COVER_END.replace(year=2028), source="renewal"
            )
        ],
        ends_at=COVER_END,
    )
    (email,) = plan_emails(event(withdrawn), CATALOG)
    assert (email.template, email.recipient, email.transactional) == (
        "coverage_withdrawn",
        "owner@acme.example",
        True,
    )
    rendered = render(email.template, email.data)
    assert "O-9" in rendered.text and "21 February 2028" in rendered.text
    assert "runs until 21 February 2027" in rendered.text and KEY in rendered.html
    nothing_left = render(email.template, {**email.data, "ends_at": None})
    assert "no maintenance left" in nothing_left.text


def test_other_events_send_nothing() -> None:
    expired = LicenseExpired(
        license_id="lic-1",
        license_key=KEY,
        product="backup-pro",
        account_id="acme",
        expired_at=PURCHASED,
    )
    assert plan_emails(event(expired), CATALOG) == []


def _warning(assignee: str | None) -> TicketSlaWarning:
    return TicketSlaWarning(
        ticket_id="t-1",
        number="T-2026-000001",
        account_id="acme",
        email="it@acme.example",
        link="https://support.example.com/tickets/T-2026-000001",
        target="first_response",
        cycle=1,
        due_at=COVER_END,
        warned_at=PURCHASED,
        business_minutes_left=45,
        tier="per_incident",
        subject="Backup <fails>",
        assignee=assignee,
        desk_link="https://support.example.com/desk/tickets/T-2026-000001",
    )


def test_an_sla_warning_is_emailed_to_the_assignee_only() -> None:
    (email,) = plan_emails(event(_warning("alice@vendor.example")), CATALOG)
    assert (email.template, email.recipient) == ("agent_sla_warning", "alice@vendor.example")
    rendered = render(email.template, email.data)
    assert rendered.subject.startswith("SLA warning [T-2026-000001] first response due")
    assert "45 business minutes left" in rendered.text
    assert "/desk/tickets/T-2026-000001" in rendered.text
    assert "Backup &lt;fails&gt;" in rendered.html
    assert "it@acme.example" not in rendered.text  # the customer gets nothing of it
    assert plan_emails(event(_warning(None)), CATALOG) == []


def test_internal_notes_assignments_and_tier_changes_send_nothing() -> None:
    ref = {
        "ticket_id": "t-1",
        "number": "T-2026-000001",
        "account_id": "acme",
        "email": "it@acme.example",
        "link": "https://support.example.com/tickets/T-2026-000001",
        "actor": "alice@vendor.example",
    }
    for data in (
        TicketNoteAdded(**ref, body="internal", noted_at=PURCHASED),
        TicketAssigned(**ref, assignee="alice@vendor.example", assigned_at=PURCHASED),
        TicketTierChanged(
            **ref, previous_tier="basic", tier="priority", reason="r", changed_at=PURCHASED
        ),
    ):
        assert plan_emails(event(data), CATALOG) == []


# --------------------------------------------------------------------------- templates


def _samples() -> dict[str, dict[str, Any]]:
    """Template data as the mail plan produces it from example payloads of every type."""
    samples = {name: email.data for name, email in sample_emails(CATALOG).items()}
    samples["coverage_started"] = plan_emails(event(started("purchase")), CATALOG)[0].data
    return samples


SAMPLES = _samples()


def test_every_template_is_reached_by_some_event() -> None:
    assert template_names() == sorted(SAMPLES)


@pytest.mark.parametrize("name", template_names())
def test_every_template_renders(name: str) -> None:
    rendered = render(name, SAMPLES[name])
    assert rendered.subject.strip()
    assert "\n" not in rendered.subject
    assert rendered.text.endswith("\n")
    assert "{{" not in rendered.text and "{%" not in rendered.text
    assert rendered.html.lstrip().lower().startswith("<!doctype html>")
    assert "{{" not in rendered.html


def test_license_email_carries_key_product_and_coverage_end() -> None:
    items = [listed("backup-pro", KEY, COVER_END)]
    email = delivery_email("O-1", "it@acme.example", items, CATALOG)
    rendered = render("license_delivered", email.data)
    assert "Backup Pro" in rendered.subject
    assert KEY in rendered.text and KEY in rendered.html
    assert "21 February 2027" in rendered.text


@pytest.mark.parametrize("name", template_names())
def test_missing_data_fails_loudly(name: str) -> None:
    with pytest.raises(UndefinedError):
        render(name, {})


def test_dates_given_as_iso_strings_render() -> None:
    data = {**SAMPLES["coverage_started"], "ends_at": COVER_END.isoformat()}
    assert "21 February 2027" in render("coverage_started", data).text


def test_no_coverage_end_omits_the_sentence() -> None:
    items = [listed("backup-pro", KEY, None)]
    rendered = render(
        "license_delivered", delivery_email("O-1", "a@b.example", items, CATALOG).data
    )
    assert "Maintenance covers" not in rendered.text
    assert "Maintenance covers" not in rendered.html


EVIL = '<script>alert("x")</script> & Co'


@pytest.mark.parametrize("name", template_names())
def test_html_is_autoescaped_and_text_is_verbatim(name: str) -> None:
    hostile = {k: EVIL if isinstance(v, str) else v for k, v in SAMPLES[name].items()}
    rendered = render(name, hostile)
    assert "<script>" not in rendered.html
    assert str(escape(EVIL)) in rendered.html
    assert EVIL in rendered.text


def test_upgrade_offers_are_not_transactional_and_license_mail_is() -> None:
    for data_type in RULES:
        for email in plan_emails(event(build(data_type, fill_optional=True)), CATALOG):
            assert email.transactional == (email.template != "upgrade_available")


def test_hostile_product_name_from_catalog_is_escaped_end_to_end() -> None:
    data = CATALOG.model_dump()
    data["products"][0]["name"] = EVIL
    catalog = Catalog.model_validate(data)
    items = [listed("backup-pro", KEY, COVER_END)]
    email = delivery_email("O-1", "it@acme.example", items, catalog)
    rendered = render(email.template, email.data)
    assert "<script>" not in rendered.html
    assert str(escape(EVIL)) in rendered.html
    assert EVIL in rendered.text


def test_the_preview_command_renders_every_template() -> None:
    runner = CliRunner()
    for name in template_names():
        result = runner.invoke(app, ["notification", "preview", name])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("Subject: ")
    html = runner.invoke(app, ["notification", "preview", "license_delivered", "--html"])
    assert "<!doctype html>" in html.output.lower()
    unknown = runner.invoke(app, ["notification", "preview", "no_such_template"])
    assert unknown.exit_code != 0


def test_a_reseller_who_bought_for_the_customer_gets_a_copy() -> None:
    items = [listed("backup-pro", KEY, None)]
    customer, reseller = delivery_emails(
        "O-1", "it@acme.example", "sales@reseller.example", items, CATALOG
    )
    assert (customer.recipient, reseller.recipient) == ("it@acme.example", "sales@reseller.example")
    assert customer.data == reseller.data and reseller.transactional
    [alone] = delivery_emails("O-1", "it@acme.example", "IT@acme.example", items, CATALOG)
    assert alone.recipient == "it@acme.example"
    item = license_item(event(issued(False).model_copy(update={"reseller_email": "r@x.example"})))
    assert item is not None and item.reseller_email == "r@x.example"


def test_emails_carry_the_products_brand_or_the_catalogs() -> None:
    data = CATALOG.model_dump()
    data["products"][0]["brand"] = {
        "vendor": "Own Brand Ltd",
        "color": "#aa0000",
        "support_url": "https://help.own.example",
    }
    branded = Catalog.model_validate(data)
    items = [listed("backup-pro", KEY, None)]
    own = render("license_delivered", delivery_email("O-1", "a@b.example", items, branded).data)
    assert "#aa0000" in own.html and "Own Brand Ltd" in own.html
    assert "https://help.own.example" in own.text
    other = [listed("mystery-tool", KEY, None)]
    default = render("license_delivered", delivery_email("O-1", "a@b.example", other, branded).data)
    assert CATALOG.brand.color in default.html and CATALOG.brand.vendor in default.text
