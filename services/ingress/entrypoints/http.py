"""`POST /webhooks/orders`: the shop's signed order webhook."""

from __future__ import annotations

from typing import Annotated, cast

from entitle_events import Order
from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel
from starlette.datastructures import Headers

from services.runtime.errors import ApiError
from services.runtime.fast_routes import FastRequest, FastRoute
from services.runtime.http import RuntimeDep, dependencies_of
from services.runtime.service import Runtime

from ..domain.order_body import InvalidOrder, parse_order
from ..domain.webhook_signature import SignatureError, verify
from ..handlers.receive_order import delivery, receive_order
from ..settings import IngressSettings
from .dependencies import IngressDependencies

router = APIRouter(tags=["orders"])


class OrderAccepted(BaseModel):
    order_id: str
    event_id: str
    duplicate: bool


class ErrorResponse(BaseModel):
    code: str
    detail: str


@router.post(
    "/webhooks/orders",
    status_code=202,
    response_model=OrderAccepted,
    summary="Receive an order from the shop (Standard Webhooks signature)",
    responses={
        401: {"model": ErrorResponse, "description": "Signature missing, wrong or stale"},
        409: {"model": ErrorResponse, "description": "Order id or webhook id already used"},
        413: {"model": ErrorResponse, "description": "Body too large"},
        422: {"model": ErrorResponse, "description": "Not a valid order"},
        503: {"model": ErrorResponse, "description": "Stored, not yet published: retry"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": Order.model_json_schema()}},
        }
    },
)
async def post_order(
    request: Request,
    runtime: RuntimeDep,
    dependencies: Annotated[IngressDependencies, Depends(dependencies_of(IngressDependencies))],
    # Declared so that OpenAPI documents it; read, with the rest, from the headers.
    traceparent: Annotated[str | None, Header()] = None,
) -> OrderAccepted:
    body = await request.body()  # the runtime refuses one over the limit as it arrives
    return await accept_order(runtime, dependencies, request.headers, body)


async def fast_post_order(runtime: Runtime, request: FastRequest) -> OrderAccepted:
    dependencies = cast(IngressDependencies, runtime.definition.dependencies)
    return await accept_order(runtime, dependencies, request.headers, request.body)


async def accept_order(
    runtime: Runtime, dependencies: IngressDependencies, headers: Headers, body: bytes
) -> OrderAccepted:
    """Verify, parse and receive one delivery. Also served as a fast route
    (services/runtime/fast_routes.py): what it refuses before storing is pure, and storing
    is idempotent by `webhook-id`, so a declined request may run again."""
    settings = runtime.settings
    assert isinstance(settings, IngressSettings)
    secrets = [s.get_secret_value() for s in settings.webhook_secrets]
    if not secrets:
        raise ApiError(503, "WEBHOOK_NOT_CONFIGURED", "no webhook secret is configured")
    try:
        webhook_id = verify(
            secrets, headers, body, runtime.clock.now(), settings.webhook_tolerance_seconds
        )
    except SignatureError as exc:
        raise ApiError(401, exc.code, exc.detail) from exc
    try:
        order = parse_order(body)
    except InvalidOrder as exc:
        raise ApiError(422, "INVALID_ORDER", exc.detail, errors=exc.errors) from exc
    accepted = await receive_order(
        runtime,
        dependencies.deliveries,
        runtime.relay.wait_published,
        delivery(webhook_id, order, headers.get("traceparent")),
        publish_timeout=settings.publish_timeout_seconds,
    )
    return OrderAccepted(
        order_id=accepted.order_id, event_id=accepted.event_id, duplicate=accepted.duplicate
    )


FAST_ROUTES = [FastRoute("POST", "/webhooks/orders", fast_post_order, status=202)]

# The status of each refusal receiving an order raises.
REFUSAL_STATUS = {"WEBHOOK_ID_REUSED": 409, "ORDER_CONFLICT": 409, "PUBLISH_PENDING": 503}
