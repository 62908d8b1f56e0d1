"""The application each worker process of `entitle serve` builds when ENTITLE_HTTP_WORKERS is
above 1: uvicorn starts workers from an import path, so the service's name travels in the
environment."""

from __future__ import annotations

import os

from fastapi import FastAPI

from services.runtime import tracing
from services.runtime.http import create_app
from services.runtime.logs import configure as configure_logs
from services.runtime.service import tune_garbage_collector

from . import registry

SERVICE_VARIABLE = "_ENTITLE_WORKER_SERVICE"  # not an ENTITLE_ setting
IMPORT_PATH = "entitle_cli.asgi:application"


def application() -> FastAPI:
    definition = registry.definition(os.environ[SERVICE_VARIABLE])
    settings = definition.settings
    configure_logs(definition.name, settings.log_level, settings.log_json)
    tracing.configure(definition.name, settings.traces_exporter)
    app = create_app(definition)
    tune_garbage_collector()
    return app
