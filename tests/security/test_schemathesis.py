"""Schemathesis over every operation of the OpenAPI schema, in-process, with a
dispatcher's and an admin's token, valid and invalid data: 0 server errors, 0 schema
violations (bounded: EXAMPLES cases per operation and mode)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
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
def test_api_keeps_to_its_schema(tokens, role, mode, audit):
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
    calls = [0]
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def keeps_to_schema(case):
            calls[0] += 1
            case.call_and_validate(headers=headers, checks=checks)

        try:
            keeps_to_schema()
        except Exception as exc:  # noqa: BLE001 - each failure is collected and reported below
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    audit(f"schemathesis: operations without a server error or schema violation ({role}, {mode.value})",
          len(operations) - len(failures), len(operations))
    audit("schemathesis: generated calls (failing operations counted as one failed call each)",
          calls[0] - len(failures), calls[0])
    assert not failures, "\n\n".join(failures)
