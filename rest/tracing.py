"""OpenTelemetry traces, only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: a span per request (Litestar's
OpenTelemetry plugin) with the SQL statements run through SQLAlchemy as child spans, exported over OTLP/HTTP
(the standard `OTEL_*` variables apply: OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_HEADERS, ...).

Without the variable nothing of OpenTelemetry is imported, so the hot path is unchanged. The hot reads
below SQLAlchemy (the asyncpg pool, the inline SQLite connection) have no span of their own.
"""

from __future__ import annotations

import os
from typing import Any

from app.store.base import Store


def tracing_plugin(store: Store) -> Any | None:
    """The Litestar plugin to install, or None when no OTLP endpoint is configured."""
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return None
    from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME", "tmf629")})
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    instrumentor = SQLAlchemyInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        # Its declared range stops below SQLAlchemy 2.1; the event hooks it uses are unchanged there.
        instrumentor.instrument(engines=store.sql_engines(), tracer_provider=provider, skip_dep_check=True)
    store.traced = True
    return OpenTelemetryPlugin(OpenTelemetryConfig(tracer_provider=provider))
