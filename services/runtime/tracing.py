"""OpenTelemetry traces. An order's trace context travels in each event's `traceparent`
(CloudEvents distributed-tracing extension, also the plain `traceparent` Kafka header): the
webhook's HTTP span starts the trace, each consumer's span continues it from the event it
handles, and the events a handler emits carry that span's context, so the order's whole path
across services is one trace.

With `ENTITLE_TRACES_EXPORTER=none` no SDK is installed: spans are not recorded and events
keep the context they came with (the trace id still links the order's events and logs).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Literal

from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

Exporter = Literal["none", "otlp", "console"]

_propagator = TraceContextTextMapPropagator()
_recording = False
tracer = trace.get_tracer("entitle")


def configure(service: str, exporter: Exporter) -> None:
    """Install the SDK with the chosen exporter; OTLP reads the standard
    `OTEL_EXPORTER_OTLP_*` variables (endpoint, headers, timeout)."""
    global _recording
    if exporter == "none":
        return
    _recording = True
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SpanExporter,
    )

    chosen: SpanExporter
    if exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        chosen = OTLPSpanExporter()
    else:
        chosen = ConsoleSpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": f"entitle-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(chosen))
    trace.set_tracer_provider(provider)


def shutdown() -> None:
    """Flush spans not exported yet (at a clean stop)."""
    provider = trace.get_tracer_provider()
    if hasattr(provider, "shutdown"):
        provider.shutdown()


@contextmanager
def span(
    name: str,
    *,
    kind: SpanKind,
    traceparent: str | None,
    attributes: Mapping[str, str | int] | None = None,
) -> Iterator[Span]:
    """A span continuing the trace of `traceparent` (a new trace when there is none)."""
    if not _recording:  # nothing would be exported: skip the span's cost on hot paths
        yield INVALID_SPAN
        return
    parent = _propagator.extract({"traceparent": traceparent}) if traceparent else None
    with tracer.start_as_current_span(
        name, context=parent, kind=kind, attributes=dict(attributes or {})
    ) as current:
        yield current


@contextmanager
def server_span(method: str, route: str, traceparent: str | None) -> Iterator[Span]:
    """The span of an HTTP request answered outside FastAPI's routing (a fast route): the
    one FastAPI's telemetry opened around the application, named for the route as its
    routing would have named it, or else a span of its own."""
    current = trace.get_current_span()
    if current.is_recording():
        current.update_name(f"{method} {route}")
        current.set_attribute("http.route", route)
        yield current
        return
    with span(f"{method} {route}", kind=SpanKind.SERVER, traceparent=traceparent) as own:
        yield own


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the span being recorded now, for the events it causes; None
    when no span is recorded (the caller then keeps the context it has)."""
    current = trace.get_current_span()
    if not current.is_recording():
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def traceparent_of(span: Span) -> str | None:
    """The W3C `traceparent` of `span` (one of several open at once), or None."""
    if not span.is_recording():
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get("traceparent")
