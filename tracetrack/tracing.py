"""Tracing with OpenTelemetry: a span per request (opentelemetry-instrumentation-django),
with child spans for every SQL statement (-psycopg) and Redis command (-redis), and the
request id as the attribute `tracetrack.request_id`.

On when OTEL_EXPORTER_OTLP_ENDPOINT is set (spans go there over OTLP/HTTP, batched, in a
thread of each worker; the standard OTEL_* variables apply: OTEL_SERVICE_NAME,
OTEL_TRACES_SAMPLER, OTEL_EXPORTER_OTLP_HEADERS, …). Off — nothing imported, nothing
wrapped, no cost — when it is not. `setup()` runs as the WSGI application is loaded, in
each gunicorn worker (never before the fork: the exporter's thread would not survive it).
"""

import logging
import os

logger = logging.getLogger("tracetrack.tracing")

_instrumentors: list = []


def _response_hook(span, request, response) -> None:
    if span is not None and span.is_recording():
        span.set_attribute("tracetrack.request_id", getattr(request, "request_id", ""))


def enabled() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def setup(exporter=None):
    """Instrument Django, psycopg and Redis. With `exporter` (tests: an in-memory one) its
    spans are exported as they end; else, when an OTLP endpoint is configured, they are
    batched to it. Returns the tracer provider, or None when tracing stays off."""
    if exporter is None and not enabled():
        return None
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME",
                                                                                        "tracetrack")}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentors = [
        (DjangoInstrumentor(), {"response_hook": _response_hook}),
        (PsycopgInstrumentor(), {"enable_commenter": False}),
        (RedisInstrumentor(), {}),
    ]
    for instrumentor, options in instrumentors:
        instrumentor.instrument(tracer_provider=provider, skip_dep_check=True, **options)
        _instrumentors.append(instrumentor)
    logger.info("tracing on: spans exported %s", "in memory" if exporter is not None else "over OTLP")
    return provider


def teardown() -> None:
    """Undo `setup()` (tests)."""
    while _instrumentors:
        _instrumentors.pop().uninstrument()
