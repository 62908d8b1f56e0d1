"""What licensing's routes need besides the runtime, built once by bootstrap.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.policy.catalog import Catalog

from ..domain.keys import KeyRing
from ..handlers.validation import ValidationReads


@dataclass(frozen=True, slots=True)
class LicensingDependencies:
    catalog: Catalog
    keys: KeyRing
    license_file_valid_for: timedelta
    """How long a signed license file is valid offline."""
    validation_reads: ValidationReads
    """Concurrent validations read their keys' facts in one query."""
