"""Tracing (OpenTelemetry) with the in-memory exporter: a child scan's request span, with
the request id, and its SQL and Redis child spans. Off, it instruments nothing."""

import uuid

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from accounts.services import token_create
from scans.services import scan_parent
from tracetrack import tracing

needs_postgres_and_redis = pytest.mark.skipif(
    not settings.REDIS_URL, reason="needs Redis (REDIS_URL) for the Redis spans")


def test_tracing_is_off_and_free_without_an_endpoint(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert tracing.setup() is None
    assert not any("opentelemetry" in name for name in settings.MIDDLEWARE)


@pytest.fixture
def spans():
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracing.setup(exporter)
    # Connections made before instrumenting are not traced: start a new pool.
    if connection.vendor == "postgresql":
        connection.close()
        connection.close_pool()
    yield exporter
    tracing.teardown()
    if connection.vendor == "postgresql":
        connection.close()
        connection.close_pool()


@pytest.mark.postgres
@needs_postgres_and_redis
@pytest.mark.django_db(transaction=True)
def test_a_child_scan_has_view_sql_and_redis_spans(spans, dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    token = token_create(user=dispatcher, name="trace")[1]
    spans.clear()
    client = APIClient()
    response = client.post("/api/v1/scans/child/", {"parent": "SB00001", "qr_id": "CH000001"}, format="json",
                           HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 201
    finished = spans.get_finished_spans()
    (server,) = [span for span in finished if span.kind.name == "SERVER"]
    assert server.attributes["tracetrack.request_id"] == response["X-Request-ID"]
    assert "api/v1/scans/child/" in server.attributes["http.route"]
    trace_id = server.context.trace_id
    sql = [span for span in finished if span.attributes.get("db.system") == "postgresql"]
    redis = [span for span in finished if span.attributes.get("db.system") == "redis"]
    assert len(sql) >= 5, [span.name for span in finished]
    assert redis, [span.name for span in finished]
    for child in [*sql, *redis]:
        assert child.context.trace_id == trace_id and child.parent is not None
    statements = " ".join(span.attributes.get("db.statement", "") for span in sql)
    assert "bags_bag" in statements and "FOR UPDATE" in statements


@pytest.mark.postgres
@needs_postgres_and_redis
@pytest.mark.django_db(transaction=True)
def test_the_statement_sent_with_the_commit_has_its_span(spans, dispatcher):
    """A scan with a scan_id stores its answer in the statement that carries the COMMIT
    (tracetrack.db.transactions.execute_last, a cursor of its own): traced like the rest."""
    scan_parent(user=dispatcher, qr_id="SB00001")
    token = token_create(user=dispatcher, name="trace")[1]
    spans.clear()
    response = APIClient().post("/api/v1/scans/child/", {"parent": "SB00001", "qr_id": "CH000001",
                                                         "scan_id": str(uuid.uuid4())},
                                format="json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 201
    statements = [span.attributes.get("db.statement", "") for span in spans.get_finished_spans()
                  if span.attributes.get("db.system") == "postgresql"]
    last = [statement for statement in statements if "scans_idempotencyrecord" in statement]
    assert len(last) == 1 and last[0].startswith("INSERT") and last[0].rstrip().endswith("COMMIT"), statements
