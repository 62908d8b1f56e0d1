"""What maintenance's routes need besides the runtime, built once by bootstrap.py."""

from __future__ import annotations

from dataclasses import dataclass

from services.policy.catalog import Catalog


@dataclass(frozen=True)
class MaintenanceDependencies:
    catalog: Catalog
