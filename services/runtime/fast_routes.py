"""Fast routes: the hottest read-only JSON endpoints (license validation) answered straight
from ASGI, without FastAPI's per-request machinery (routing, dependency injection, response
re-validation, five middleware layers), which cost more than the answer itself.

The same route stays declared on the FastAPI router: it documents the endpoint, and it
answers whenever the fast path declines (a body that does not parse, a content type that is
not JSON, any error), so errors keep the API's stable codes and shapes. A fast route must
therefore be safe to run twice: read-only.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import SpanKind
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics, tracing

if TYPE_CHECKING:
    from .service import Runtime


@dataclass(frozen=True)
class FastRoute:
    method: str
    path: str
    request: type[BaseModel]
    answer: Callable[[Runtime, Any], Awaitable[BaseModel]]


class FastRoutes:
    def __init__(self, app: ASGIApp, routes: Sequence[FastRoute], runtime: Runtime) -> None:
        self.app = app
        self.routes = {(r.method, r.path): r for r in routes}
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = None
        if scope["type"] == "http":
            route = self.routes.get((scope["method"], scope["path"]))
        if route is None or not _json(scope):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        received: list[Message] = []
        body = b""
        while True:
            message = await receive()
            received.append(message)
            body += message.get("body", b"")
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        try:
            with tracing.span(
                f"{route.method} {route.path}",
                kind=SpanKind.SERVER,
                traceparent=_header(scope, b"traceparent"),
            ):
                answer = await route.answer(self.runtime, route.request.model_validate_json(body))
        except Exception:
            await self.app(scope, _replay(received, receive), send)
            return
        payload = answer.model_dump_json().encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
        metrics.observe_request(route.method, route.path, 200, time.perf_counter() - started)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _json(scope: Scope) -> bool:
    content_type = _header(scope, b"content-type")
    return content_type is None or content_type.split(";")[0].strip() == "application/json"


def _replay(received: list[Message], receive: Receive) -> Receive:
    """The request's messages again, for the full application, then the live channel."""
    pending = list(received)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
