import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.models import User
from bags.models import Bag
from billing.models import Bill

ROOT = Path(__file__).resolve().parents[2]


def run_settings(env_overrides: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")} | env_overrides
    return subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'tracetrack.settings'); django.setup()"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


def test_start_up_stops_without_secret_key_when_debug_is_off():
    result = run_settings({"DEBUG": "0"})
    assert result.returncode != 0 and "SECRET_KEY is not set" in result.stderr


def test_bad_business_setting_stops_start_up_with_its_name():
    result = run_settings({"DEBUG": "1", "PARENT_CAPACITY": "lots"})
    assert result.returncode != 0 and "PARENT_CAPACITY must be an integer" in result.stderr


def test_debug_runs_without_secret_key():
    assert run_settings({"DEBUG": "1"}).returncode == 0


def test_health_does_not_touch_the_database(client):
    # No django_db mark: any query here would raise "Database access not allowed".
    response = client.get("/health/")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_health_reads_neither_session_nor_user_for_a_signed_in_caller(client, django_user_model):
    # A caller with a session cookie (the load balancer of a browser-facing proxy, the
    # bench): the liveness probe must not load the session or the user (issue 18's
    # UserLanguageMiddleware did), which would make it depend on Redis and cost two round trips.
    from accounts.models import Role

    user = django_user_model.objects.create_user(username="probe", password=None, role=Role.ADMIN)
    client.force_login(user)
    response = client.get("/health/")
    assert response.status_code == 200
    timing = response["Server-Timing"]
    assert 'desc="0 queries"' in timing and 'desc="0 calls"' in timing, timing
    # Whereas a page does read them (so the check above can fail): the middleware that
    # refreshes idle sessions marks this one, and it is written back.
    from tracetrack.middleware import SessionIdleMiddleware

    session = client.session
    session[SessionIdleMiddleware.KEY] = 0
    session.save()
    page = client.get("/scan/")
    assert page.status_code == 200 and 'desc="0 queries"' not in page["Server-Timing"], page["Server-Timing"]
    assert client.session[SessionIdleMiddleware.KEY] > 0


@pytest.mark.django_db
def test_ready_checks_database_and_cache(client):
    response = client.get("/ready/")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok"}


@pytest.mark.django_db
def test_ready_reports_a_broken_cache(client, monkeypatch):
    from django.core.cache import cache

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "set", broken)
    response = client.get("/ready/")
    assert response.status_code == 503 and response.json()["checks"]["cache"] == "unavailable"


@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)  # SystemExit(1) on drift
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_migrations_go_back_to_zero_and_forward_again():
    call_command("migrate", "scans", "zero", verbosity=0)
    call_command("migrate", "billing", "zero", verbosity=0)
    call_command("migrate", "bags", "zero", verbosity=0)
    assert "bags_bag" not in connection.introspection.table_names()
    call_command("migrate", verbosity=0)
    assert {"bags_bag", "bags_link", "scans_scan", "billing_bill"} <= set(connection.introspection.table_names())


@pytest.mark.django_db
def test_seed_demo_is_safe_to_run_twice():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    counts = (User.objects.count(), Bag.objects.count(), Bill.objects.count())
    assert "TraceTrack-admin-2026" in out.getvalue()
    call_command("seed_demo", stdout=io.StringIO())
    assert (User.objects.count(), Bag.objects.count(), Bill.objects.count()) == counts
    assert counts[1] >= 200 and counts[2] == 3
    assert User.objects.get(username="dispatcher").check_password("TraceTrack-scan-2026")
    assert Bill.objects.get(bill_id="DEMO-001").status == "completed"


@pytest.mark.django_db
def test_create_user_command_reads_the_password_from_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("Long-enough-pw-1\n"))
    out = io.StringIO()
    call_command("create_user", "op7", "--role", "dispatcher", "--area", "jaipur", "--password-stdin", stdout=out)
    user = User.objects.get(username="op7")
    assert user.dispatch_area.code == "jaipur" and user.check_password("Long-enough-pw-1")
    assert "Created dispatcher op7 in jaipur" in out.getvalue()


@pytest.mark.django_db
def test_create_user_command_refuses_a_dispatcher_without_area(monkeypatch):
    from django.core.management.base import CommandError

    monkeypatch.setattr(sys, "stdin", io.StringIO("Long-enough-pw-1\n"))
    with pytest.raises(CommandError, match="dispatch area"):
        call_command("create_user", "op8", "--role", "dispatcher", "--password-stdin")


def _load_wsgi(env_overrides: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "STATIC_MANIFEST")} | {
        "SECRET_KEY": "x" * 50, "DEBUG": "0", "ALLOWED_HOSTS": "localhost", **env_overrides}
    return subprocess.run([sys.executable, "-c", "import tracetrack.wsgi"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_a_server_without_collectstatic_refuses_to_start_and_says_why(tmp_path):
    result = _load_wsgi({"VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "run `manage.py collectstatic --noinput`" in result.stderr and "is missing" in result.stderr


def test_a_server_with_collected_static_files_starts(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("STATIC_MANIFEST",)} | {
        "SECRET_KEY": "x" * 50, "DEBUG": "0", "VAR_DIR": str(tmp_path), "ALLOWED_HOSTS": "localhost"}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)
    assert _load_wsgi({"VAR_DIR": str(tmp_path)}).returncode == 0
    (tmp_path / "static" / "staticfiles.json").write_text('{"paths": {"css/app.css": "css/app.x.css"}, "version": "1.1"}')
    stale = _load_wsgi({"VAR_DIR": str(tmp_path)})
    ours = sum(1 for path in (ROOT / "static").rglob("*") if path.is_file())
    assert stale.returncode != 0 and f"lacks {ours - 1} of our {ours} files (" in stale.stderr
