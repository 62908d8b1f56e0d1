"""The product catalog: loading, reference checks, plan rules."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.policy.catalog import DEMO_CATALOG, Catalog, MaintenancePlan, load_catalog


def test_demo_catalog_loads() -> None:
    catalog = load_catalog()
    assert catalog.name == "demo"
    assert catalog.currency == "EUR"
    product = catalog.product("backup-pro")
    assert product is not None
    assert product.current_major == 5
    assert {e.code for e in product.editions} == {"desktop", "server", "site"}
    assert product.edition("server") is not None
    assert product.edition("enterprise") is None

    srv = catalog.sku("BP-SRV")
    assert srv is not None
    assert (srv.kind, srv.seats, srv.one_license_per_unit) == ("license", 1, True)
    assert srv.list_price == Decimal("199.00")
    site = catalog.sku("BP-SITE")
    assert site is not None
    assert (site.seats, site.one_license_per_unit) == (5, False)
    assert catalog.sku("NOPE") is None

    plan = catalog.plan("backup-care-12")
    assert plan is not None
    assert plan.complimentary_months == 3
    assert plan.renewal_basis == "previous_end_if_covered"
    assert plan.early_renewal_discount_pct == Decimal(30)
    assert catalog.plan("nope") is None


def test_load_catalog_reads_given_path_and_defaults_to_demo(tmp_path: Path) -> None:
    assert load_catalog(None) == load_catalog(DEMO_CATALOG)
    path = tmp_path / "mini.toml"
    path.write_text(
        'name = "mini"\n'
        '[[products]]\ncode = "p"\nname = "P"\neditions = [{ code = "e", name = "E" }]\n'
        '[[skus]]\ncode = "P-1"\nkind = "license"\nproduct = "p"\nedition = "e"\n'
        'license_kind = "perpetual"\n'
    )
    mini = load_catalog(path)
    assert mini.name == "mini"
    assert [s.code for s in mini.skus] == ["P-1"]
    assert mini.plans == []


def _demo() -> dict[str, Any]:
    return copy.deepcopy(load_catalog().model_dump())


def _sku(**overrides: Any) -> dict[str, Any]:
    sku: dict[str, Any] = {
        "code": "BAD-SKU",
        "kind": "license",
        "product": "backup-pro",
        "edition": "server",
        "license_kind": "perpetual",
    }
    sku.update(overrides)
    return sku


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        ({"product": "no-such-product"}, "unknown product no-such-product"),
        ({"plan": "no-such-plan"}, "unknown plan no-such-plan"),
        ({"edition": "no-such-edition"}, "has no no-such-edition"),
        ({"edition": None}, "needs edition and license_kind"),
        ({"license_kind": None}, "needs edition and license_kind"),
    ],
)
def test_unresolved_sku_reference_names_the_sku(overrides: dict[str, Any], detail: str) -> None:
    data = _demo()
    data["skus"].append(_sku(**overrides))
    with pytest.raises(ValidationError) as info:
        Catalog.model_validate(data)
    message = str(info.value)
    assert "BAD-SKU" in message
    assert detail in message


def test_maintenance_sku_needs_no_edition() -> None:
    data = _demo()
    data["skus"].append(
        _sku(kind="maintenance", edition=None, license_kind=None, plan="backup-care-12")
    )
    assert Catalog.model_validate(data).sku("BAD-SKU") is not None


def test_unknown_field_is_rejected() -> None:
    data = _demo()
    data["skus"][0]["seat"] = 3  # typo of `seats`
    with pytest.raises(ValidationError, match="seat"):
        Catalog.model_validate(data)


def test_load_catalog_error_names_the_sku(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(
        DEMO_CATALOG.read_text()
        + '\n[[skus]]\ncode = "BP-GHOST"\nkind = "license"\nproduct = "ghost"\n'
        'edition = "server"\nlicense_kind = "perpetual"\n'
    )
    with pytest.raises(ValidationError, match="BP-GHOST"):
        load_catalog(path)


@pytest.mark.parametrize(
    ("kwargs", "covers"),
    [
        ({}, False),
        ({"complimentary_months": 3}, True),
        ({"included_months": 12}, True),
        ({"perpetual_while_active": True}, True),
        ({"complimentary_months": 0, "included_months": 0, "term_months": 24}, False),
        ({"complimentary_months": 3, "min_major_version": 6}, False),  # v5 must upgrade first
        ({"included_months": 12, "min_major_version": 5}, True),
        ({"perpetual_while_active": True, "min_major_version": 6}, True),
    ],
)
def test_covers_new_license(kwargs: dict[str, Any], covers: bool) -> None:
    plan = MaintenancePlan(code="p", name="P", **kwargs)
    assert plan.covers_new_license(5) is covers


def test_demo_plan_covers_new_license() -> None:
    plan = load_catalog().plan("backup-care-12")
    assert plan is not None and plan.covers_new_license(5) and not plan.covers_new_license(4)


def test_an_add_on_needs_a_base_product_of_the_catalog(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(
        DEMO_CATALOG.read_text().replace('base_product = "backup-pro"', 'base_product = "ghost"')
    )
    with pytest.raises(ValidationError, match="base_product ghost"):
        load_catalog(path)


def test_an_add_on_versions_with_its_base_product() -> None:
    catalog = load_catalog()
    assert catalog.release_product("backup-exchange") == "backup-pro"
    assert catalog.release_product("backup-pro") == "backup-pro"


@pytest.mark.parametrize(
    "bad",
    [
        {"term_months": 0},
        {"complimentary_months": -1},
        {"early_renewal_discount_pct": 101},
        {"code": "has space"},
    ],
)
def test_plan_field_constraints(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        MaintenancePlan(**{"code": "p", "name": "P", **bad})
