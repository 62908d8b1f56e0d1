from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from .model import Catalog

DEMO_CATALOG = Path(__file__).parent / "presets" / "demo.toml"


@lru_cache(maxsize=8)
def load_catalog(path: Path | None = None) -> Catalog:
    """Read and validate a catalog file; errors name the entry at fault."""
    source = path or DEMO_CATALOG
    with open(source, "rb") as fh:
        return Catalog.model_validate(tomllib.load(fh))
