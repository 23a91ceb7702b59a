"""The OpenAPI schema is valid and complete (the API keeping to it: tests/security/test_schemathesis.py)."""

import json

import pytest
import yaml
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


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
