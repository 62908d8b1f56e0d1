"""Which licenses an order line issues, with the demo catalog."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from entitle_events.commerce import Order, OrderLine
from entitle_events.common import Party
from hypothesis import given, settings
from hypothesis import strategies as st

from services.licensing.domain.issuing import LicenseSpec, licenses_for_line
from services.policy.catalog import Catalog, load_catalog

CATALOG = load_catalog()
PLACED_AT = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
ACME = Party(account_id="acme", company="ACME GmbH", email="it@acme.example")
RESELLER = Party(
    account_id="resell-co", company="Resell Co", email="sales@resell.example", reseller=True
)


def order(
    sku: str = "BP-SRV",
    quantity: int = 1,
    order_id: str = "O-1",
    buyer: Party = ACME,
    end_customer: Party | None = None,
    line_id: str = "1",
) -> Order:
    return Order(
        order_id=order_id,
        placed_at=PLACED_AT,
        currency="EUR",
        payment_mode="annual",
        buyer=buyer,
        end_customer=end_customer,
        lines=[OrderLine(line_id=line_id, sku=sku, quantity=quantity, unit_price=Decimal("199"))],
    )


def issue(o: Order, catalog: Catalog = CATALOG) -> list[LicenseSpec]:
    line = o.lines[0]
    sku = catalog.sku(line.sku)
    assert sku is not None
    product = catalog.product(sku.product)
    assert product is not None
    return licenses_for_line(o, line, sku, product)


def test_quantity_three_per_unit_sku_gives_three_single_seat_licenses() -> None:
    specs = issue(order("BP-SRV", quantity=3))
    assert len(specs) == 3
    assert [s.max_activations for s in specs] == [1, 1, 1]
    assert len({s.license_id for s in specs}) == 3
    for s in specs:
        assert s.sku == "BP-SRV"
        assert s.product == "backup-pro"
        assert s.edition == "server"
        assert s.kind == "perpetual"
        assert s.account_id == "acme"
        assert s.company == "ACME GmbH"
        assert s.contact_email == "it@acme.example"
        assert s.reseller_account_id is None
        assert s.pooled is False
        assert s.purchased_at == PLACED_AT
        assert s.expires_at is None  # perpetual
        assert s.auto_renew is False
        assert s.maintenance_plan == "backup-care-12"


def test_license_ids_are_deterministic() -> None:
    first = [s.license_id for s in issue(order("BP-SRV", quantity=3))]
    again = [s.license_id for s in issue(order("BP-SRV", quantity=3))]
    assert first == again


def test_license_ids_differ_between_orders_and_lines() -> None:
    base = {s.license_id for s in issue(order(quantity=2))}
    other_order = {s.license_id for s in issue(order(quantity=2, order_id="O-2"))}
    other_line = {s.license_id for s in issue(order(quantity=2, line_id="2"))}
    assert base.isdisjoint(other_order)
    assert base.isdisjoint(other_line)


def test_site_sku_gives_one_license_with_seats_times_quantity() -> None:
    specs = issue(order("BP-SITE", quantity=2))
    assert len(specs) == 1
    assert specs[0].max_activations == 10
    assert specs[0].edition == "site"


def test_reseller_buying_for_end_customer() -> None:
    specs = issue(order(quantity=2, buyer=RESELLER, end_customer=ACME))
    assert len(specs) == 2
    for s in specs:
        assert s.account_id == "acme"
        assert s.company == "ACME GmbH"
        assert s.contact_email == "it@acme.example"
        assert s.reseller_account_id == "resell-co"
        assert s.pooled is False


def test_reseller_without_end_customer_buys_into_pool() -> None:
    (spec,) = issue(order(buyer=RESELLER))
    assert spec.account_id == "resell-co"
    assert spec.contact_email == "sales@resell.example"
    assert spec.reseller_account_id == "resell-co"
    assert spec.pooled is True


def test_major_version_is_products_current_major() -> None:
    product = CATALOG.product("backup-pro")
    assert product is not None
    assert product.current_major == 5
    assert [s.major_version for s in issue(order(quantity=2))] == [5, 5]


def test_subscription_sku_expires_after_term_and_auto_renews() -> None:
    data = CATALOG.model_dump()
    data["skus"].append(
        {
            "code": "BP-SUB",
            "kind": "license",
            "product": "backup-pro",
            "edition": "server",
            "license_kind": "subscription",
            "term_months": 12,
        }
    )
    catalog = Catalog.model_validate(data)
    (spec,) = issue(order("BP-SUB"), catalog)
    assert spec.expires_at == datetime(2027, 11, 21, 10, 0, tzinfo=UTC)
    assert spec.auto_renew is True
    assert spec.maintenance_plan is None


def test_site_license_without_seat_limit_stays_unlimited() -> None:
    data = CATALOG.model_dump()
    data["skus"].append(
        {
            "code": "BP-UNL",
            "kind": "license",
            "product": "backup-pro",
            "edition": "site",
            "license_kind": "perpetual",
            "seats": None,
            "one_license_per_unit": False,
        }
    )
    (spec,) = issue(order("BP-UNL", quantity=4), Catalog.model_validate(data))
    assert spec.max_activations is None


@settings(max_examples=40, deadline=None)
@given(quantity=st.integers(1, 60), sku=st.sampled_from(["BP-SRV", "BP-DESK", "BP-SITE"]))
def test_seats_issued_equal_quantity_times_seats(quantity: int, sku: str) -> None:
    specs = issue(order(sku, quantity=quantity))
    catalog_sku = CATALOG.sku(sku)
    assert catalog_sku is not None and catalog_sku.seats is not None
    assert sum(s.max_activations or 0 for s in specs) == quantity * catalog_sku.seats
    assert len({s.license_id for s in specs}) == len(specs)
