"""Documents generated from the code: each service's AsyncAPI document (`docs/asyncapi/`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from services.runtime.asyncapi import document
from services.runtime.service import ServiceDefinition

from . import registry

ASYNCAPI_DIR = Path(__file__).parents[2] / "docs" / "asyncapi"


def definitions() -> list[ServiceDefinition]:
    """Every service's definition, with just enough settings to describe it."""
    return [registry.described(name) for name in registry.SERVICE_NAMES]


def asyncapi_documents() -> dict[str, dict[str, Any]]:
    return {d.name: document(d) for d in definitions()}


def write_asyncapi(directory: Path = ASYNCAPI_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, doc in asyncapi_documents().items():
        path = directory / f"{name}.json"
        path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
