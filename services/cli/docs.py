"""Documents generated from the code: each service's AsyncAPI document (`docs/asyncapi/`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from services.licensing.domain.keys import generate_private_key
from services.runtime.asyncapi import document
from services.runtime.service import ServiceDefinition

ASYNCAPI_DIR = Path(__file__).parents[2] / "docs" / "asyncapi"


def definitions() -> list[ServiceDefinition]:
    """Every service's definition, with just enough settings to describe it."""
    from services.ingress.bootstrap import build as ingress
    from services.licensing.bootstrap import build as licensing
    from services.licensing.settings import LicensingSettings
    from services.maintenance.bootstrap import build as maintenance
    from services.notification.bootstrap import build as notification
    from services.ticketing.bootstrap import build as ticketing

    return [
        ingress(),
        licensing(LicensingSettings(signing_key=generate_private_key())),
        maintenance(),
        ticketing(),
        notification(),
    ]


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
