import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.helpers import fill_parent

pytestmark = pytest.mark.django_db


def test_dashboard_access(client, dispatcher, biller, admin_user):
    assert client.get("/dashboard/").status_code == 302
    client.force_login(dispatcher)
    assert client.get("/dashboard/").status_code == 403
    for user in (biller, admin_user):
        client.force_login(user)
        assert client.get("/dashboard/").status_code == 200


def test_a_scan_shows_at_once_in_dashboard_and_stats(client, dispatcher, biller):
    client.force_login(biller)
    api = APIClient()
    api.force_authenticate(biller)
    fill_parent(dispatcher, "SB00001", 2)
    first = client.get("/dashboard/?fragment=1").content.decode()
    assert 'id="d-children">2<' in first and 'id="d-today">3<' in first
    assert api.get("/api/v1/stats/").json()["bags"]["children"] == 2
    fill_parent(dispatcher, "SB00002", 1, start=10)
    again = client.get("/dashboard/?fragment=1").content.decode()
    assert 'id="d-children">3<' in again and 'id="d-today">5<' in again and "SB00002" in again
    assert api.get("/api/v1/stats/").json()["bags"]["children"] == 3
    assert api.get("/api/v1/scans/").json()["results"][0]["qr_id"] == "CH000010"


def test_dashboard_query_count_does_not_grow(client, dispatcher, biller):
    fill_parent(dispatcher, "SB00001", 3)
    client.force_login(biller)
    client.get("/dashboard/")

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/dashboard/").status_code == 200
        return len(ctx.captured_queries)

    small = count()
    for n in range(2, 8):
        fill_parent(dispatcher, f"SB{n:05d}", 30, start=n * 100)
    assert count() == small


DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2, "IGNORE_EXCEPTIONS": True},
    }
}


def test_everything_answers_with_the_cache_down(client, dispatcher, biller):
    fill_parent(dispatcher, "SB00001", 2)
    with override_settings(CACHES=DEAD_REDIS):
        from django.core.cache import caches

        caches._settings = None  # noqa: SLF001 - rebuild the cache handler for the override
        try:
            api = APIClient()
            api.force_authenticate(dispatcher)
            assert api.post("/api/v1/scans/child/", {"parent": "SB00001", "qr_id": "CH777777"}, format="json").status_code == 201
            for url in ("/api/v1/stats/", "/api/v1/scans/", "/api/v1/bags/SB00001/", "/api/v1/me/"):
                assert api.get(url).status_code == 200, url
            client.force_login(biller)
            for url in ("/dashboard/", "/bills/", "/lookup/?q=SB00001", "/scan/SB00001/"):
                assert client.get(url).status_code == 200, url
            ready = client.get("/ready/")
            assert ready.status_code == 503 and ready.json()["checks"] == {"database": "ok", "cache": "unavailable"}
        finally:
            caches._settings = None  # noqa: SLF001


def test_scans_land_in_their_local_hour_and_repair_runs_twice(dispatcher):
    """TIME_ZONE is Asia/Kolkata (UTC+5:30): local hours start at :30 UTC. A scan at 10:45
    local time counts in the chart's hour "10", from the live tally and after a repair —
    which can run again on the same day (it once collided with a UTC-hour row)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import time_machine
    from django.conf import settings

    from reports.dashboard import scans_per_hour
    from stats.recount import drift, repair

    assert settings.TIME_ZONE == "Asia/Kolkata"
    moment = datetime(2026, 11, 30, 10, 45, tzinfo=ZoneInfo("Asia/Kolkata"))
    with time_machine.travel(moment, tick=False):
        fill_parent(dispatcher, "SB00001", 3)  # a parent scan and three child scans
        hours = {row["hour"]: row["count"] for row in scans_per_hour(moment)}
        assert hours["10"] == 4 and sum(hours.values()) == 4
        repair()
        repair()
        assert drift() == {}
        hours = {row["hour"]: row["count"] for row in scans_per_hour(moment)}
        assert hours["10"] == 4 and sum(hours.values()) == 4


def test_top_operators_today_are_exact_and_cost_no_scan_of_the_log(client, dispatcher, other_dispatcher, biller,
                                                                    make_user):
    """From the operators' day tallies: right after each scan, with ties in a fixed order
    (the older account first), equal to a recount of today's scan rows, and in a constant
    number of queries."""
    from django.db.models import Count
    from django.utils import timezone

    from reports.dashboard import top_operators
    from scans.models import Scan
    from stats.recount import drift

    fill_parent(dispatcher, "SB00001", 2)  # 3 scans
    fill_parent(other_dispatcher, "SB00002", 4, start=100)  # 5 scans
    now = timezone.now()
    assert top_operators(now) == [{"username": other_dispatcher.username, "scans": 5},
                                  {"username": dispatcher.username, "scans": 3}]
    newer = make_user(username="disp_newer")  # created after `dispatcher`: a higher id
    fill_parent(newer, "SB00004", 2, start=300)  # 3 scans, level with `dispatcher`
    assert top_operators(now)[1:] == [{"username": dispatcher.username, "scans": 3},
                                      {"username": newer.username, "scans": 3}]
    fill_parent(dispatcher, "SB00003", 3, start=200)  # 4 more: 7
    top = top_operators(now)
    assert top[0] == {"username": dispatcher.username, "scans": 7}
    counted = {row["user__username"]: row["n"] for row in
               Scan.objects.values("user__username").annotate(n=Count("pk"))}
    assert {row["username"]: row["scans"] for row in top} == counted
    assert drift() == {}
    client.force_login(biller)
    body = client.get("/dashboard/?fragment=1").content.decode()
    assert f"{dispatcher.username}: 7" in body
    with CaptureQueriesContext(connection) as ctx:
        top_operators(now)
    assert len(ctx.captured_queries) == 2  # the tallies, then the names


def test_recount_reports_and_repairs_operator_tallies(dispatcher, capsys):
    from django.core.management import call_command

    from stats.models import OperatorTally
    from stats.recount import drift

    fill_parent(dispatcher, "SB00001", 2)
    OperatorTally.objects.all().delete()
    assert drift() == {(dispatcher.pk, "operator_scans_today"): (0, 3)}
    with pytest.raises(SystemExit):
        call_command("recount_stats")
    assert f"drift: {dispatcher.username} operator_scans_today" in capsys.readouterr().out
    call_command("recount_stats", "--repair")
    assert drift() == {}
