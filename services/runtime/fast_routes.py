"""Fast routes: the hottest JSON endpoints (license validation, the order webhook) answered
straight from ASGI, without FastAPI's per-request machinery (routing, dependency injection,
response re-validation, five middleware layers), which cost more than the answer itself.

The same route stays declared on the FastAPI router: it documents the endpoint, and it
answers whenever the fast path declines (a body that does not parse, a content type that is
not JSON, any error but a refusal), so errors keep the API's stable codes and shapes. A fast
route must therefore be safe to run twice: read-only, or idempotent (the webhook, by its
`webhook-id`). A refusal is answered by the fast path itself, as the application would
answer it: running the request again would only repeat what led to it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics, tracing
from .errors import Refused

if TYPE_CHECKING:
    from .service import Runtime


@dataclass(frozen=True)
class FastRequest:
    body: bytes
    headers: Headers


@dataclass(frozen=True)
class FastRoute:
    method: str
    path: str
    answer: Callable[[Runtime, FastRequest], Awaitable[BaseModel]]
    status: int = 200


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
        request = FastRequest(body, Headers(scope=scope))
        try:
            with tracing.server_span(route.method, route.path, _header(scope, b"traceparent")):
                answer = await route.answer(self.runtime, request)
        except Refused as refusal:
            status = self.runtime.definition.refusal_status.get(refusal.code, 409)
            refused = {"code": refusal.code, "detail": refusal.detail}
            await _respond(send, status, json.dumps(refused).encode())
            metrics.observe_request(route.method, route.path, status, time.perf_counter() - started)
            return
        except Exception:
            await self.app(scope, _replay(received, receive), send)
            return
        await _respond(send, route.status, answer.model_dump_json().encode())
        metrics.observe_request(
            route.method, route.path, route.status, time.perf_counter() - started
        )


async def _respond(send: Send, status: int, payload: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


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
