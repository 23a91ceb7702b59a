"""Operations I: request ids, JSON logs, Server-Timing, /metrics and its access rule, the
domain counters, and the error pages (in-process; the multi-worker and fault tests start
real servers in tests/reliability/)."""

import io
import json
import logging
import os
import subprocess
import sys
import uuid

import pytest
from django.test import Client, override_settings
from prometheus_client import REGISTRY
from pythonjsonlogger.json import JsonFormatter

from accounts.models import AuditLog
from scans.services import scan_parent
from tests.conftest import PASSWORD
from tests.helpers import fill_parent
from tracetrack.logs import JSON_FIELDS, RENAMED, TIMESTAMP, RequestContextFilter, logging_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def json_log():
    """Every log line of the test, formatted as production formats it, parsed back."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(JSON_FIELDS, rename_fields=RENAMED, timestamp=TIMESTAMP, json_ensure_ascii=False))
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("tracetrack.request").setLevel(logging.INFO)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield lines
    root.removeHandler(handler)
    root.setLevel(old_level)


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- Request ids and logs ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_requests_id_is_in_its_header_log_lines_audit_rows_and_error_body(api, json_log, dispatcher, other_dispatcher):
    client = Client()
    login = client.post("/login/", {"username": dispatcher.username, "password": PASSWORD})
    login_id = login["X-Request-ID"]
    assert AuditLog.objects.get(action="auth.login").request_id == login_id

    scan_parent(user=other_dispatcher, qr_id="SB00009")
    refused = client.post("/api/v1/scans/child/", {"parent": "SB00009", "qr_id": "CH000001"},
                          content_type="application/json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
                          HTTP_USER_AGENT="Scanner/1.0 " + "x" * 300)
    assert refused.status_code == 409
    request_id = refused["X-Request-ID"]
    assert refused.json()["request_id"] == request_id and refused.json()["code"] == "area_mismatch"

    lines = json_log()
    mine = [line for line in lines if line.get("request_id") == request_id]
    (request_line,) = [line for line in mine if line["logger"] == "tracetrack.request"]
    assert request_line | {"time": None, "duration_ms": None, "db_ms": None, "cache_ms": None, "cache_calls": None,
                           "db_queries": None} == {
        "time": None, "level": "INFO", "logger": "tracetrack.request", "message": "POST /api/v1/scans/child/ 409",
        "request_id": request_id, "user": dispatcher.username, "method": "POST", "path": "/api/v1/scans/child/",
        "route": "/api/v1/scans/child/", "status": 409, "duration_ms": None, "db_ms": None, "db_queries": None,
        "cache_ms": None, "cache_calls": None,
        # gunicorn's access line is off by default: the request line carries its fields.
        "remote_addr": "127.0.0.1", "user_agent": ("Scanner/1.0 " + "x" * 300)[:200], "bytes": len(refused.content),
    }
    assert request_line["db_queries"] > 0 and request_line["duration_ms"] >= request_line["db_ms"] >= 0
    assert any(line.get("request_id") == login_id and line["logger"] == "tracetrack.request" for line in lines)


@pytest.mark.django_db
@pytest.mark.parametrize("incoming,peer,kept", [
    ("abc-123.X:9", "127.0.0.1", True),       # a sane id from a trusted proxy
    ("x" * 65, "127.0.0.1", False),           # too long
    ("a b", "127.0.0.1", False),              # not a token
    ("<script>", "127.0.0.1", False),
    ("abc-123", "203.0.113.9", False),        # from a client that is no trusted proxy
])
def test_an_incoming_request_id_is_kept_only_from_a_trusted_proxy_and_when_sane(incoming, peer, kept):
    response = Client().get("/health/", HTTP_X_REQUEST_ID=incoming, REMOTE_ADDR=peer)
    assert (response["X-Request-ID"] == incoming) is kept
    assert len(response["X-Request-ID"]) <= 64


@pytest.mark.django_db
def test_every_answer_has_server_timing_with_database_and_cache(api, dispatcher):
    response = api(dispatcher).get("/api/v1/stats/")
    timing = response["Server-Timing"]
    parts = dict(part.strip().split(";", 1) for part in timing.split(","))
    assert set(parts) == {"db", "cache", "total"}
    assert parts["db"].startswith("dur=") and "queries" in parts["db"] and "calls" in parts["cache"]
    assert "Server-Timing" in Client().get("/health/")


def test_text_format_keeps_a_human_line():
    config = logging_config(level="INFO", fmt="text")
    assert "%(request_id)s" in config["formatters"]["default"]["format"]
    assert logging_config(level="INFO", fmt="json")["formatters"]["default"]["()"].startswith("pythonjsonlogger")


def test_management_commands_log_json_lines_with_their_runs_id():
    env = {**os.environ, "DEBUG": "1", "LOG_FORMAT": "json"}
    code = "import logging; logging.getLogger('tracetrack.test').warning('from a command')"
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    (line,) = [json.loads(line) for line in result.stderr.splitlines() if "from a command" in line]
    assert line["level"] == "WARNING" and line["logger"] == "tracetrack.test"
    assert line["request_id"].startswith("cmd-")


def test_make_run_logs_text():
    env = {**os.environ, "DEBUG": "1", "LOG_FORMAT": "text"}
    code = "import logging; logging.getLogger('tracetrack.test').warning('human')"
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    (line,) = [line for line in result.stderr.splitlines() if "human" in line]
    assert not line.startswith("{") and "WARNING tracetrack.test [cmd-" in line


# --- The 500 page and API errors ----------------------------------------------------------


def broken_page(request):
    raise RuntimeError("boom")


urlpatterns = [__import__("django.urls").urls.path("broken/", broken_page)]
handler500 = "tracetrack.api.errors.server_error"


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_the_500_page_shows_the_request_id():
    response = Client(raise_request_exception=False).get("/broken/")
    assert response.status_code == 500
    assert response["X-Request-ID"] in response.content.decode()


# --- /metrics -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_are_served_to_loopback_and_refused_to_others(settings):
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    refused = Client().get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 403
    settings.METRICS_ALLOWED_IPS = ["203.0.113.0/24"]
    assert Client().get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403  # the list replaces loopback
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    assert Client().get("/metrics", REMOTE_ADDR="198.51.100.1",
                        HTTP_AUTHORIZATION="Bearer s3cret-metrics-token").status_code == 200
    assert Client().get("/metrics", REMOTE_ADDR="198.51.100.1", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert Client().post("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 405


@pytest.mark.django_db
def test_metrics_behind_a_proxy_use_the_client_address(settings):
    settings.PROXY_COUNT = 1
    # nginx on loopback passed on a request from outside: refused.
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 200


@pytest.mark.django_db
def test_metrics_show_request_histograms_and_the_domain_counters(api, dispatcher, admin_user):
    client = api(dispatcher)
    scan_parent(user=dispatcher, qr_id="SB00001")
    fill_parent(dispatcher, "SB00002", 30)
    before = {
        "created": sample("tracetrack_scans_total", kind="child", outcome="created"),
        "capacity": sample("tracetrack_scans_total", kind="child", outcome="capacity_reached"),
        "replayed": sample("tracetrack_scans_total", kind="child", outcome="replayed"),
        "invalid": sample("tracetrack_scans_total", kind="child", outcome="invalid"),
        "undone": sample("tracetrack_undos_total", outcome="undone"),
    }
    scan_id = str(uuid.uuid4())
    body = {"parent": "SB00001", "qr_id": "NEW-0001", "scan_id": scan_id}
    assert client.post("/api/v1/scans/child/", body, format="json").status_code == 201
    assert client.post("/api/v1/scans/child/", body, format="json").status_code == 201  # a retry
    assert client.post("/api/v1/scans/child/", {"parent": "SB00002", "qr_id": "CH999999"},
                       format="json").json()["code"] == "capacity_reached"
    assert client.post("/api/v1/scans/child/", {"parent": "SB00002", "qr_id": "SB0009X"},
                       format="json").status_code == 400
    assert client.post("/api/v1/scans/undo/", {"parent": "SB00001"}, format="json").status_code == 200
    assert sample("tracetrack_scans_total", kind="child", outcome="created") == before["created"] + 1
    assert sample("tracetrack_scans_total", kind="child", outcome="replayed") == before["replayed"] + 1
    assert sample("tracetrack_scans_total", kind="child", outcome="capacity_reached") == before["capacity"] + 1
    assert sample("tracetrack_scans_total", kind="child", outcome="invalid") == before["invalid"] + 1
    assert sample("tracetrack_undos_total", outcome="undone") == before["undone"] + 1

    text = Client().get("/metrics").content.decode()
    assert 'tracetrack_http_request_duration_seconds_bucket{le="0.05",method="POST",route="/api/v1/scans/child/"}' in text
    assert 'tracetrack_http_responses_total{method="POST",route="/api/v1/scans/child/",status="409"}' in text
    assert "tracetrack_db_queries_total" in text and "tracetrack_scans_total" in text


@pytest.mark.django_db
def test_logins_and_lockouts_are_counted(dispatcher, settings):
    success, failure = sample("tracetrack_logins_total", outcome="success"), sample("tracetrack_logins_total",
                                                                                  outcome="failure")
    lockouts = sample("tracetrack_lockouts_total")
    assert Client().post("/login/", {"username": dispatcher.username, "password": PASSWORD}).status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post("/login/", {"username": dispatcher.username, "password": "wrong"})
    assert sample("tracetrack_logins_total", outcome="success") == success + 1
    assert sample("tracetrack_logins_total", outcome="failure") == failure + settings.AXES_FAILURE_LIMIT
    assert sample("tracetrack_lockouts_total") == lockouts + 1


@pytest.mark.django_db(transaction=True)
def test_a_completed_bill_is_counted_when_it_commits(dispatcher, biller):
    from django.db import transaction

    from billing.services import bill_add_parent, bill_complete, bill_create

    completed = sample("tracetrack_bills_completed_total")
    fill_parent(dispatcher, "SB00001", 1)
    bill_create(user=biller, bill_id="BILL-1", capacity=1, destination="D", vehicle_number="V")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    with transaction.atomic():
        bill_complete(user=biller, bill_id="BILL-1")
        assert sample("tracetrack_bills_completed_total") == completed  # not before it commits
    assert sample("tracetrack_bills_completed_total") == completed + 1


@pytest.mark.django_db
def test_imports_are_counted(client, admin_user, settings, tmp_path):
    from tests.backoffice.conftest import BAG_IMPORT_URL, csv_bytes, upload

    settings.VAR_DIR = tmp_path / "var"
    dry_runs = sample("tracetrack_imports_total", kind="bags", outcome="dry_run")
    client.force_login(admin_user)
    upload(client, BAG_IMPORT_URL, "bags.csv", csv_bytes([["qr_id", "kind", "parent_qr_id"], ["SB00001", "parent", ""]]))
    assert sample("tracetrack_imports_total", kind="bags", outcome="dry_run") == dry_runs + 1
