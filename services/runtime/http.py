"""The HTTP side every service shares: lifespan, health, metrics, errors, API keys."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics, tracing
from .asyncapi import document as asyncapi_document
from .auth import Principal
from .clock import Clock
from .errors import ApiError
from .fast_routes import FastRoutes
from .service import Runtime, ServiceDefinition

log = logging.getLogger(__name__)


def create_app(definition: ServiceDefinition, clock: Clock | None = None) -> FastAPI:
    runtime = Runtime(definition, clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()
            tracing.shutdown()  # export the last spans

    app = FastAPI(
        title=f"Entitle {definition.name}",
        description=definition.description,
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.runtime = runtime

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": definition.name}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Database reachable and loops running",
        responses={503: {"description": "Not ready; `detail` lists the problems"}},
    )
    async def readyz() -> JSONResponse:
        problems = await runtime.check_ready()
        if problems:
            return JSONResponse(
                {"status": "unavailable", "code": "NOT_READY", "detail": problems}, 503
            )
        return JSONResponse({"status": "ready", "service": definition.name})

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=PlainTextResponse,
    )
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/asyncapi.json", tags=["operations"], summary="AsyncAPI document of the topics")
    async def asyncapi() -> dict[str, Any]:
        return asyncapi_document(definition)

    for router in definition.routers:
        app.include_router(router)
    app.openapi = _openapi_with_our_errors(app)  # type: ignore[method-assign]

    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(
        asyncpg.CharacterNotInRepertoireError,
        _unstorable_text,  # type: ignore[arg-type]
    )
    app.add_middleware(_Observe)
    if definition.fast_routes:  # outermost: they answer before anything else runs
        app.add_middleware(FastRoutes, routes=definition.fast_routes, runtime=runtime)
    return app


class _Observe:
    """Requests by route and status, and their latency. A plain ASGI middleware: Starlette's
    `BaseHTTPMiddleware` costs more than the hottest endpoints themselves."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        # The request's span comes from FastAPI's own OpenTelemetry support.
        try:
            await self.app(scope, receive, record)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            metrics.observe_request(path, status, time.perf_counter() - started)


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return JSONResponse({"code": exc.code, "detail": exc.detail, **exc.extra}, exc.status)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"field": ".".join(str(p) for p in e["loc"][1:]) or e["loc"][0], "message": e["msg"]}
        for e in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10])
    return JSONResponse({"code": "VALIDATION_ERROR", "detail": detail, "errors": errors}, 422)


async def _unstorable_text(
    request: Request, exc: asyncpg.CharacterNotInRepertoireError
) -> JSONResponse:
    # PostgreSQL text cannot hold NUL (U+0000); whichever field carried one, it is the
    # request that is wrong, not the server.
    return JSONResponse(
        {"code": "INVALID_CHARACTER", "detail": "text may not contain the NUL character"}, 422
    )


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    codes = {400: "MALFORMED_BODY", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
    return JSONResponse(
        {"code": codes.get(exc.status_code, f"HTTP_{exc.status_code}"), "detail": str(exc.detail)},
        exc.status_code,
    )


class ErrorBody(BaseModel):
    """What every error answers: a stable `code` and a readable `detail`; some errors add
    fields of their own."""

    model_config = ConfigDict(extra="allow")

    code: str
    detail: str


class FieldError(BaseModel):
    field: str
    message: str


class ValidationErrorBody(ErrorBody):
    errors: list[FieldError] = Field(
        default_factory=list, description="Each invalid field, when the request did not parse."
    )


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route that answers these statuses with an ApiError."""
    return {
        status: {"model": ErrorBody, "description": HTTPStatus(status).phrase}
        for status in statuses
    }


_MALFORMED_BODY = {
    "description": "The body cannot be decoded",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}


def _openapi_with_our_errors(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """FastAPI documents every 422 as its own `HTTPValidationError`; `_validation_error`
    answers `ValidationErrorBody` instead, so the document says that. FastAPI also answers
    400 (`MALFORMED_BODY`) to a body it cannot even decode, e.g. one that is not UTF-8."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        schemas = document.get("components", {}).get("schemas", {})
        if "HTTPValidationError" in schemas:
            body = ValidationErrorBody.model_json_schema(
                ref_template="#/components/schemas/{model}", mode="serialization"
            )
            schemas.update(body.pop("$defs", {}))
            schemas["HTTPValidationError"] = body
            schemas.pop("ValidationError", None)
        for operations in document["paths"].values():
            for operation in operations.values():
                if "requestBody" in operation:
                    operation["responses"].setdefault("400", _MALFORMED_BODY)
                    schemas.setdefault("ErrorBody", ErrorBody.model_json_schema())
        return document

    return openapi


# Dependencies are coroutines: FastAPI runs a plain function in a worker thread, and the
# thread hand-off cost more than the license validation itself.
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def require(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that authenticates the caller and checks one scope. A route using it
    documents `errors(401, 403)`."""

    async def check(request: Request) -> Principal:
        runtime: Runtime = request.app.state.runtime
        principal = runtime.api_keys.authenticate(request.headers.get("authorization"))
        if not principal.allows(scope):
            raise ApiError(403, "FORBIDDEN", f"this API key lacks the scope `{scope}`")
        return principal

    return check
