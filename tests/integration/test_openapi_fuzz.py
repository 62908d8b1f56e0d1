"""Schemathesis over every service's OpenAPI document, on the real database and broker.

Each service runs in process as an ASGI app; schemathesis starts its lifespan (and so the
runtime) in its own event loop and sends every request there. Cases are sent with the
admin key so that the handlers behind authentication run, not only the 401 path.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.ingress.bootstrap import build as build_ingress
from services.ingress.settings import IngressSettings
from services.licensing.bootstrap import build as build_licensing
from services.licensing.domain.keys import generate_private_key
from services.licensing.settings import LicensingSettings
from services.maintenance.bootstrap import build as build_maintenance
from services.maintenance.settings import MaintenanceSettings
from services.notification.bootstrap import build as build_notification
from services.notification.settings import NotificationSettings
from services.runtime.http import create_app
from services.runtime.service import ServiceDefinition
from services.ticketing.bootstrap import build as build_ticketing
from services.ticketing.settings import TicketingSettings
from tests.conftest import settings_for
from tests.infra import Infra
from tests.integration.ticketing.conftest import CATALOG as TICKETING_CATALOG

ADMIN_KEY = "admin-key"
ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"fuzz-secret-32-bytes-long------!").decode()
EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _definition(infra: Infra, name: str) -> ServiceDefinition:
    """The service as deployed (jobs included), with an admin key and its own db/topics."""
    common: dict[str, Any] = {"admin_api_key": ADMIN_KEY}
    builders: dict[str, Callable[[], ServiceDefinition]] = {
        "ingress": lambda: build_ingress(
            settings_for(infra, IngressSettings, webhook_secrets=[WEBHOOK_SECRET], **common)
        ),
        "licensing": lambda: build_licensing(
            settings_for(infra, LicensingSettings, signing_key=generate_private_key(), **common)
        ),
        "maintenance": lambda: build_maintenance(
            settings_for(infra, MaintenanceSettings, **common)
        ),
        "ticketing": lambda: build_ticketing(
            settings_for(infra, TicketingSettings, catalog_path=TICKETING_CATALOG, **common)
        ),
        "notification": lambda: build_notification(
            settings_for(infra, NotificationSettings, unsubscribe_secret="s3cret", **common)
        ),
    }
    return builders[name]()


SERVICES = ["ingress", "licensing", "maintenance", "ticketing", "notification"]


@pytest.fixture(params=SERVICES)
def service_app(request: pytest.FixtureRequest, infra: Infra) -> Iterator[FastAPI]:
    app = create_app(_definition(infra, request.param))
    try:
        yield app
    finally:
        # Stops the runtime schemathesis started through the app's lifespan.
        asgi.shutdown_lifespans()


@pytest.fixture
def api_schema(service_app: FastAPI) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", service_app)


Operation = APIOperation[Any, Any, Any, Any]


def _operations(schema: schemathesis.BaseSchema) -> Iterator[Operation]:
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        yield result.ok()


def _fuzz(
    operation: Operation, mode: GenerationMode, examples: int, headers: dict[str, str]
) -> str | None:
    """Run `examples` generated cases of one operation; the failure report, if any."""

    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case[Operation]) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        # Negative mode finds nothing to break in an operation without parameters, and
        # cannot negate every body schema (the order webhook's; tests/unit covers that body).
        return None
    except (AssertionError, FailureGroup) as exc:
        return f"{operation.label} ({mode.value}): {exc}"
    return None


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_documented(
    api_schema: schemathesis.BaseSchema, mode: GenerationMode
) -> None:
    failures = [
        failure
        for operation in _operations(api_schema)
        if (failure := _fuzz(operation, mode, EXAMPLES, ADMIN)) is not None
    ]
    assert not failures, "\n\n".join(failures)


def test_without_an_api_key_every_operation_answers_as_documented(
    api_schema: schemathesis.BaseSchema,
) -> None:
    """401 is documented where a key is needed; nothing answers 5xx to a stranger."""
    failures = [
        failure
        for operation in _operations(api_schema)
        if (failure := _fuzz(operation, GenerationMode.POSITIVE, 5, {})) is not None
    ]
    assert not failures, "\n\n".join(failures)
