"""The import contracts (`lint-imports` in `make test`) name every service there is."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[2]


def _contracts() -> list[dict[str, Any]]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts: list[dict[str, Any]] = pyproject["tool"]["importlinter"]["contracts"]
    return contracts


def _services() -> set[str]:
    """Packages under services/ with a composition root are services; the rest are shared."""
    return {f"services.{p.parent.name}" for p in (ROOT / "services").glob("*/bootstrap.py")}


def test_every_service_is_independent_of_every_other() -> None:
    (independence,) = [c for c in _contracts() if c["type"] == "independence"]
    assert _services() == set(independence["modules"])


def test_the_shared_libraries_may_import_no_service() -> None:
    (shared,) = [c for c in _contracts() if "services.policy" in c.get("source_modules", [])]
    assert set(shared["source_modules"]) == {"services.policy", "services.runtime"}
    assert _services() <= set(shared["forbidden_modules"])


def test_the_layer_contracts_cover_every_service_by_wildcard() -> None:
    sources = {m for c in _contracts() for m in c.get("source_modules", [])}
    assert {"services.*.domain", "services.*.entrypoints"} <= sources
