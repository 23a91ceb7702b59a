"""Lockout and rate limits at their configured numbers (the settings as deployed, not
lowered for the test), and lifted after their window."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
START = datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC)


def token(username="disp_lucknow", password=PASSWORD, ip="10.1.1.1"):
    return APIClient(REMOTE_ADDR=ip).post("/api/v1/auth/token/", {"username": username, "password": password},
                                          format="json")


def test_the_deployed_numbers():
    """What the tests below count to (DESIGN.md, Settings every deployment knows)."""
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=30)
    assert (settings.RATE_LIMIT_LOGIN, settings.RATE_LIMIT_SCAN, settings.RATE_LIMIT_API) == ("10/m", "1000/m", "3000/m")


@pytest.mark.parametrize("door", ["token endpoint", "login page"])
def test_five_failures_lock_the_username_on_that_address_for_thirty_minutes_after_the_last(dispatcher, door, audit):
    def attempt(password, ip="10.1.1.1"):
        if door == "token endpoint":
            return token(password=password, ip=ip).status_code
        return Client(REMOTE_ADDR=ip).post("/login/", {"username": "disp_lucknow", "password": password}).status_code

    failed = 401 if door == "token endpoint" else 200
    with time_machine.travel(START, tick=False) as clock:
        statuses = [attempt("wrong") for _ in range(settings.AXES_FAILURE_LIMIT)]
        assert statuses[:-1] == [failed] * (settings.AXES_FAILURE_LIMIT - 1)
        assert attempt(PASSWORD) == 429  # locked: even the right password
        assert attempt(PASSWORD, ip="10.2.2.2") in (201, 302)  # another address is not
        # The lock runs from the last attempt (one made while locked counts as a failure too).
        clock.shift(settings.AXES_COOLOFF_TIME - timedelta(seconds=5))
        assert attempt(PASSWORD) == 429
        clock.shift(settings.AXES_COOLOFF_TIME + timedelta(seconds=5))
        assert attempt(PASSWORD) in (201, 302)  # lifted
    audit("limits: lockout at 5 failures, lifted after 30 min", 1, 1)


@pytest.mark.parametrize("door", ["token endpoint", "login page"])
def test_logins_are_limited_per_address_and_lifted_after_the_minute(dispatcher, door, audit):
    allowed = int(settings.RATE_LIMIT_LOGIN.split("/")[0])

    def attempt(ip="10.3.3.3"):
        if door == "token endpoint":
            return token(ip=ip).status_code
        return Client(REMOTE_ADDR=ip).post("/login/", {"username": "disp_lucknow", "password": PASSWORD}).status_code

    with time_machine.travel(START, tick=False) as clock:
        statuses = [attempt() for _ in range(allowed)]
        assert set(statuses) <= {201, 302}
        assert attempt() == 429
        assert attempt(ip="10.4.4.4") in (201, 302)
        clock.shift(timedelta(seconds=60))
        assert attempt() in (201, 302)
    audit("limits: login rate limit at 10/min per address, lifted after the window", 1, 1)


def test_scans_are_limited_per_user_and_lifted_after_the_minute(dispatcher, other_dispatcher, audit):
    allowed = int(settings.RATE_LIMIT_SCAN.split("/")[0])
    client, other = APIClient(), APIClient()
    client.force_authenticate(dispatcher)
    other.force_authenticate(other_dispatcher)
    with time_machine.travel(START, tick=False) as clock:
        # Refused scans (a QR of the wrong format) count as much as any: cheap to send.
        statuses = {client.post("/api/v1/scans/parent/", {"qr_id": "bad"}, format="json").status_code
                    for _ in range(allowed)}
        assert statuses == {400}
        limited = client.post("/api/v1/scans/parent/", {"qr_id": "SB00001"}, format="json")
        assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
        assert 1 <= int(limited["Retry-After"]) <= 60
        assert other.post("/api/v1/scans/parent/", {"qr_id": "SB00001"}, format="json").status_code == 201
        assert client.get("/api/v1/me/").status_code == 200  # reads are not scans
        clock.shift(timedelta(seconds=60))
        assert client.post("/api/v1/scans/parent/", {"qr_id": "SB00002"}, format="json").status_code == 201
    audit("limits: scan rate limit at 1000/min per user, lifted after the window", 1, 1)


def test_api_calls_are_limited_per_user_and_lifted_after_the_minute(dispatcher, audit):
    allowed = int(settings.RATE_LIMIT_API.split("/")[0])
    client = APIClient()
    client.force_authenticate(dispatcher)
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(allowed):
            response = client.get("/api/v1/me/")
        assert response.status_code == 200
        limited = client.get("/api/v1/me/")
        assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
        clock.shift(timedelta(seconds=60))
        assert client.get("/api/v1/me/").status_code == 200
    audit("limits: API rate limit at 3000/min per user, lifted after the window", 1, 1)


# --- The counting itself (tracetrack.ratelimit): one Lua command per request on Redis ----


def _redis_only():
    from tracetrack.ratelimit import _redis

    if _redis() is None:
        pytest.skip("needs Redis (set REDIS_URL)")


def test_every_limit_of_a_request_is_counted_by_its_weight_with_its_window():
    _redis_only()
    import uuid

    from django.core.cache import cache

    from tracetrack.ratelimit import Limit, _redis, hit

    ident = uuid.uuid4().hex
    limits = [Limit("api", ident, "5/m"), Limit("scan", ident, "3/h")]
    assert hit(limits, weight=2) is None  # 2 of 5, 2 of 3
    wait = hit(limits, weight=2)  # 4 of 5, 4 of 3: the hour's window is exceeded
    assert wait is not None and 60 < wait <= 3600
    client = _redis()
    keys = [key.decode() for key in client.keys(cache.make_key(f"rl:*:{ident}:*"))]
    assert sorted(int(client.get(key)) for key in keys) == [4, 4]
    assert sorted(client.ttl(key) for key in keys)[0] <= 61 and max(client.ttl(key) for key in keys) > 61


def test_the_count_goes_on_when_redis_has_lost_the_script():
    _redis_only()
    import uuid

    from tracetrack.ratelimit import Limit, _redis, hit

    ident = uuid.uuid4().hex
    assert hit([Limit("api", ident, "2/m")]) is None
    _redis().script_flush()  # as after a restart of Redis
    assert hit([Limit("api", ident, "2/m")]) is None
    assert hit([Limit("api", ident, "2/m")]) is not None  # the third of two


def test_requests_are_served_when_redis_is_down(monkeypatch):
    import redis

    from tracetrack import ratelimit

    # Nothing listens on port 1: every command fails to connect.
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(ratelimit, "_redis", lambda: down)
    assert ratelimit.hit([ratelimit.Limit("api", "anyone", "1/m")], weight=5) is None
