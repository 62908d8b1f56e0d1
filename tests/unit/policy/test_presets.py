"""Every shipped catalog preset loads and keeps to neutral names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.policy.catalog import load_catalog

from .support import PRESETS

ALL = sorted(PRESETS.glob("*.toml"))
SEED_PRESETS = [
    "backup-care",
    "msp-backup",
    "scheduler-maintenance",
    "disaster-recovery",
    "backup-suite",
]
# The seed vendors' brands and product names (presets carry neutral names).
BRANDS = re.compile(
    r"backupassist|backupcare|visualcron|netjapan|activeimage|novastor|novacare|novabackup"
    r"|msp360|cloudberry|cleverbridge|valuecreate|teamviewer|managed backup"
    r"|business essentials",
    re.IGNORECASE,
)


def test_there_is_a_preset_per_seed_vendor() -> None:
    assert {p.stem for p in ALL} >= {"demo", *SEED_PRESETS}


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_preset_loads(path: Path) -> None:
    catalog = load_catalog(path)
    assert catalog.name == path.stem
    assert catalog.products and catalog.skus
    assert len({s.code for s in catalog.skus}) == len(catalog.skus)
    assert len({p.code for p in catalog.plans}) == len(catalog.plans)
    for sku in catalog.skus:
        if sku.kind == "maintenance":
            assert sku.plan is not None


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_preset_uses_neutral_names(path: Path) -> None:
    assert BRANDS.search(path.read_text()) is None


def test_every_plan_of_a_seed_preset_is_sold() -> None:
    for name in SEED_PRESETS:
        catalog = load_catalog(PRESETS / f"{name}.toml")
        used = {s.plan for s in catalog.skus}
        assert {p.code for p in catalog.plans} <= used, name


def test_add_on_products_name_a_base_in_the_same_catalog() -> None:
    for path in ALL:
        catalog = load_catalog(path)
        for product in catalog.products:
            if product.base_product is not None:
                assert catalog.product(product.base_product) is not None
