"""The HTTP side every service shares: lifespan, health, metrics, errors, API keys."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Annotated, Any, TypeVar

import asyncpg
from fastapi import Depends, FastAPI, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics, tracing
from .asyncapi import document as asyncapi_document
from .auth import Principal
from .clock import Clock
from .errors import TRANSIENT_EXCEPTIONS, ApiError, Refused
from .fast_routes import FastRoutes
from .service import Runtime, ServiceDefinition

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_OFFSET = 1_000_000_000
"""The largest `offset` a listing accepts: beyond any table's size, and within what
PostgreSQL takes (a 64-bit offset would fail in the database, not in the request)."""
RETRY_AFTER_SECONDS = 5


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
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/asyncapi.json", tags=["operations"], summary="AsyncAPI document of the topics")
    async def asyncapi() -> dict[str, Any]:
        return asyncapi_document(definition)

    from .operations import router as operations  # it builds on this module's dependencies

    app.include_router(operations)
    for router in definition.routers:
        app.include_router(router)
    app.openapi = _openapi_with_our_errors(app)  # type: ignore[method-assign]

    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]

    async def refused(request: Request, exc: Refused) -> JSONResponse:
        status = definition.refusal_status.get(exc.code, 409)
        return JSONResponse({"code": exc.code, "detail": exc.detail}, status)

    app.add_exception_handler(Refused, refused)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    for unstorable in (asyncpg.CharacterNotInRepertoireError, UnicodeEncodeError):
        app.add_exception_handler(unstorable, _unstorable_text)
    for transient in TRANSIENT_EXCEPTIONS:
        app.add_exception_handler(transient, _unavailable)
    app.add_middleware(_Observe)
    if definition.configure_app is not None:
        definition.configure_app(app)
    if definition.fast_routes:  # they answer before anything else runs
        app.add_middleware(FastRoutes, routes=definition.fast_routes, runtime=runtime)
    app.add_middleware(BodyLimit, limit=definition.settings.body_limit)  # outermost
    return app


class BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` as the body arrives: FastAPI passes an HTTPException raised
    while reading a body on unchanged (anything else becomes a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body exceeds {limit} bytes")


class BodyLimit:
    """Every request body is counted as it arrives, and refused with 413 before anything
    reads past the limit; a declared `Content-Length` over it is refused before reading at
    all. One limit for every route, the fast routes included."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _send_too_large(send, self.limit)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise BodyTooLarge(self.limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if started:
                raise
            await _send_too_large(send, self.limit)


async def _send_too_large(send: Send, limit: int) -> None:
    body = json.dumps({"code": "PAYLOAD_TOO_LARGE", "detail": f"the body exceeds {limit} bytes"})
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


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
            elapsed = time.perf_counter() - started
            metrics.observe_request(scope["method"], path, status, elapsed)


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return JSONResponse({"code": exc.code, "detail": exc.detail, **exc.extra}, exc.status)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"field": ".".join(str(p) for p in e["loc"][1:]) or e["loc"][0], "message": e["msg"]}
        for e in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10])
    return JSONResponse({"code": "VALIDATION_ERROR", "detail": detail, "errors": errors}, 422)


async def _unstorable_text(request: Request, exc: Exception) -> JSONResponse:
    # PostgreSQL text cannot hold NUL (U+0000) nor a lone surrogate; whichever parameter
    # carried one past the request models, it is the request that is wrong, not the server.
    return JSONResponse(
        {
            "code": "INVALID_CHARACTER",
            "detail": "text may not contain NUL, other control characters or lone surrogates",
        },
        422,
    )


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database (or another dependency) is unreachable for now: the caller should try
    again, as it would after a restart, rather than read a server fault."""
    log.warning("answering 503: %s: %s", type(exc).__name__, exc)
    return JSONResponse(
        {
            "code": "TEMPORARILY_UNAVAILABLE",
            "detail": "a dependency of this service is unavailable; retry shortly",
        },
        503,
        headers={"retry-after": str(RETRY_AFTER_SECONDS)},
    )


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    codes = {
        400: "MALFORMED_BODY",
        404: "NOT_FOUND",
        405: "METHOD_NOT_ALLOWED",
        413: "PAYLOAD_TOO_LARGE",
    }
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
        _hoist_definitions(document)
        return document

    return openapi


def _hoist_definitions(document: dict[str, Any]) -> None:
    """A model schema given whole (`openapi_extra`) carries its own `$defs`, which do not
    resolve from the document's root: move them to components and point the refs there."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})

    def visit(node: Any) -> Any:
        if isinstance(node, dict):
            schemas.update({k: visit(v) for k, v in node.pop("$defs", {}).items()})
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                node["$ref"] = "#/components/schemas/" + ref.removeprefix("#/$defs/")
            return {k: visit(v) for k, v in node.items()}
        if isinstance(node, list):
            return [visit(v) for v in node]
        return node

    document["paths"] = visit(document["paths"])


# Dependencies are coroutines: FastAPI runs a plain function in a worker thread, and the
# thread hand-off cost more than the license validation itself.
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def dependencies_of(kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A FastAPI dependency giving a route the `ServiceDefinition.dependencies` its
    service's bootstrap.py built, as `kind`: `Annotated[Kind, Depends(dependencies_of(Kind))]`."""

    async def provided(request: Request) -> T:
        found: T = request.app.state.runtime.definition.dependencies
        return found

    return provided


# Declares the scheme in the OpenAPI documents (the Authorize button of /docs); `check`
# reads the header itself to answer with our error codes.
_BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An Entitle API key: `Authorization: Bearer <key>`; keys carry scopes.",
)


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that authenticates the caller and checks one scope. A route using it
    documents `errors(401, 403)`."""

    async def check(
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)] = None,
    ) -> Principal:
        runtime: Runtime = request.app.state.runtime
        principal = runtime.api_keys.authenticate(request.headers.get("authorization"))
        if not principal.allows(scope):
            raise ApiError(403, "FORBIDDEN", f"this API key lacks the scope `{scope}`")
        return principal

    return check
