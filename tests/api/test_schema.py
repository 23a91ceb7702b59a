"""The OpenAPI schema is valid, and the API keeps to it (schemathesis, in-process)."""

import json

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from rest_framework.test import APIClient
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from accounts.services import token_create
from tracetrack.wsgi import application

pytestmark = pytest.mark.django_db
EXAMPLES = 30


def test_schema_is_public_valid_yaml_and_json():
    response = APIClient().get("/api/v1/schema/")
    assert response.status_code == 200
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    as_json = APIClient().get("/api/v1/schema/", {"format": "json"})
    assert json.loads(as_json.content)["paths"] == document["paths"]
    from drf_spectacular.validation import validate_schema

    validate_schema(document)  # against the OpenAPI 3 JSON schema


def test_schema_documents_every_endpoint_and_error():
    document = yaml.safe_load(APIClient().get("/api/v1/schema/").content)
    paths = document["paths"]
    for path in ("/api/v1/scans/parent/", "/api/v1/scans/child/", "/api/v1/scans/undo/", "/api/v1/bags/{qr_id}/",
                 "/api/v1/bills/{bill_id}/parents/", "/api/v1/bills/{bill_id}/parents/{qr_id}/",
                 "/api/v1/bills/summary/", "/api/v1/stats/", "/api/v1/auth/token/", "/api/v1/users/{username}/"):
        assert path in paths, path
    child = paths["/api/v1/scans/child/"]["post"]
    assert {"201", "200", "400", "404", "409", "422", "429"} <= set(child["responses"])
    assert "capacity_reached" in child["description"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_docs_page_is_served_without_a_cdn():
    response = APIClient().get("/api/v1/docs/")
    assert response.status_code == 200
    assert b"cdn.jsdelivr" not in response.content and b"swagger-ui" in response.content


@pytest.fixture
def keep_test_connection():
    """Schemathesis calls the WSGI app directly. Like Django's test client, stop the end
    of each request from closing the database connection, which holds this test's
    transaction."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(admin_user, dispatcher, settings, keep_test_connection):
    """A dispatcher's and an admin's token, and a little data for the paths to name."""
    from billing.services import bill_create
    from tests.helpers import fill_parent

    settings.RATELIMIT_ENABLE = False
    settings.AXES_ENABLED = False
    fill_parent(dispatcher, "SB00001", 3)
    bill_create(user=admin_user, bill_id="BILL-1", capacity=5, destination="D", vehicle_number="V")
    return {"dispatcher": token_create(user=dispatcher, name="schemathesis")[1],
            "admin": token_create(user=admin_user, name="schemathesis")[1]}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda mode: mode.value)
@pytest.mark.parametrize("role", ["dispatcher", "admin"])
def test_api_keeps_to_its_schema(tokens, role, mode):
    """Every operation with generated data (valid, then invalid), as a dispatcher and as an
    admin: never a 5xx, and every answer (status, content type, body) as the schema
    documents it. Driven through schemathesis' strategies directly: its pytest plugin does
    not support pytest 9 yet. Every failing operation is reported, not only the first."""
    api_schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    if mode == GenerationMode.NEGATIVE:
        checks.append(negative_data_rejection)
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 28
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def keeps_to_schema(case):
            case.call_and_validate(headers=headers, checks=checks)

        try:
            keeps_to_schema()
        except Exception as exc:  # noqa: BLE001 - each failure is collected and reported below
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
