"""Operations against real processes: gunicorn with two workers, a PostgreSQL cluster of the
test's own that is stopped and restarted, a Redis of its own that is stopped. Every
acknowledged scan must be in the database exactly once, and no answer may be a 5xx other
than 503 `unavailable`."""

import json
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings

from accounts.services import token_create
from scans.services import scan_parent
from tests.servers import gunicorn, postgres_cluster, redis_server, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _headers(token):
    return {"Authorization": f"Bearer {token}"}


def _app_env(database_url: str, redis_url: str | None = None) -> dict[str, str]:
    env = {"DATABASE_URL": database_url, "CACHE_KEY_PREFIX": f"ops-{uuid.uuid4().hex[:8]}",
           "RATELIMIT_ENABLE": "0", "LOG_FORMAT": "json", "DB_POOL_MAX": "4", "DB_POOL_MIN": "2"}
    if redis_url or settings.REDIS_URL:
        env["REDIS_URL"] = redis_url or settings.REDIS_URL
    return env


def _metric(text: str, name: str, **labels) -> float:
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} ") or (not labels and line.startswith(f"{name} ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_add_up_across_two_gunicorn_workers_and_refuse_others(dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    token = token_create(user=dispatcher, name="metrics")[1]
    with postgres_cluster() as pg:
        url = pg.copy_of_test_database()
        with gunicorn({**_app_env(url), "GUNICORN_ACCESSLOG": ""}, workers=2) as app:
            assert len(app.worker_pids()) == 2

            def child(i):
                body = {"parent": "SB00001", "qr_id": f"MET-{i:04d}", "scan_id": str(uuid.uuid4())}
                first = requests.post(f"{app.url}/api/v1/scans/child/", json=body, headers=_headers(token), timeout=30)
                again = requests.post(f"{app.url}/api/v1/scans/child/", json=body, headers=_headers(token), timeout=30)
                return first.status_code, again.status_code

            # New connections each time, many at once: both workers take some.
            with ThreadPoolExecutor(16) as pool:
                answers = list(pool.map(child, range(40)))
            assert Counter(answers) == {(201, 201): 30, (409, 409): 10}

            metrics = requests.get(f"{app.url}/metrics", timeout=10)
            assert metrics.status_code == 200
            text = metrics.text
            assert _metric(text, "tracetrack_scans_total", kind="child", outcome="created") == 30
            # A retry of a refusal is a replay too: 40 retries in all.
            assert _metric(text, "tracetrack_scans_total", kind="child", outcome="replayed") == 40
            assert _metric(text, "tracetrack_scans_total", kind="child", outcome="capacity_reached") == 10
            assert _metric(text, "tracetrack_http_request_duration_seconds_count", method="POST",
                           route="/api/v1/scans/child/") == 80
            assert "tracetrack_db_pool_connections" in text
            counter_files = list((app.root / "metrics").glob("counter_*.db"))
            assert len(counter_files) == 2, "both workers answered scans"

            # From an address that is no loopback (this host's other address), without a token.
            other = requests.get(f"{app.url}/metrics", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=10)
            assert other.status_code == 200  # PROXY_COUNT=0: X-Forwarded-For is not believed

            # One line per request, the app's: gunicorn's access log is off unless asked for.
            log = [json.loads(line) for line in app.log_lines() if line.strip()]
            requests_logged = [line for line in log if line["logger"] == "tracetrack.request"]
            assert sum(line.get("route") == "/api/v1/scans/child/" for line in requests_logged) == 80
            assert not [line for line in log if line["logger"] == "gunicorn.access"]
        # GUNICORN_ACCESSLOG=- asks for gunicorn's access log: JSON too, with the request's id.
        with gunicorn({**_app_env(url), "PROXY_COUNT": "1", "GUNICORN_ACCESSLOG": "-"}, workers=1) as proxied:
            refused = requests.get(f"{proxied.url}/metrics", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=10)
            assert refused.status_code == 403
            with_token = requests.get(f"{proxied.url}/metrics", timeout=10,
                                      headers={"X-Forwarded-For": "203.0.113.9", "Authorization": "Bearer nope"})
            assert with_token.status_code == 403

            request_id = with_token.headers["X-Request-ID"]

            def logged():
                log = [json.loads(line) for line in proxied.log_lines() if line.strip()]  # every line is JSON
                access = [line for line in log if line["logger"] == "gunicorn.access"]
                return log if any(line.get("request_id") == request_id for line in access) else None

            # gunicorn writes its access line after the answer has gone out: wait for it.
            log = wait_for(logged, timeout=10, what="gunicorn's access line of the last request")
            assert all({"time", "level", "logger", "message", "request_id"} <= set(line) for line in log)
            assert all(line["time"].endswith("+00:00") for line in log)
            mine = {line["logger"]: line for line in log if line["request_id"] == request_id}
            assert mine["tracetrack.request"]["status"] == 403 and mine["tracetrack.request"]["path"] == "/metrics"
            assert mine["gunicorn.access"]["status"] == 403


def _post_child(app, token, body, timeout=5):
    start = time.monotonic()
    response = requests.post(f"{app.url}/api/v1/scans/child/", json=body, headers=_headers(token), timeout=timeout)
    return response, time.monotonic() - start


def test_postgresql_down_is_503_at_once_and_the_service_recovers_by_itself(dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    token = token_create(user=dispatcher, name="fault")[1]
    with postgres_cluster() as pg:
        url = pg.copy_of_test_database()
        with gunicorn(_app_env(url), workers=1) as app:
            ok, _ = _post_child(app, token, {"parent": "SB00001", "qr_id": "BEFORE-1", "scan_id": str(uuid.uuid4())})
            assert ok.status_code == 201
            pg.stop()

            for n in range(6):
                response, seconds = _post_child(app, token, {"parent": "SB00001", "qr_id": f"DOWN-{n}",
                                                             "scan_id": str(uuid.uuid4())})
                assert response.status_code == 503, response.text
                body = response.json()
                assert body["code"] == "unavailable" and body["request_id"] == response.headers["X-Request-ID"]
                assert int(response.headers["Retry-After"]) >= 1
                assert seconds < 1.0, f"call {n} took {seconds:.2f} s"
            ready = requests.get(f"{app.url}/ready/", timeout=5)
            assert ready.status_code == 503 and ready.json()["checks"]["database"] == "unavailable"
            page = requests.get(f"{app.url}/scan/", timeout=5, allow_redirects=False)
            assert page.status_code in (302, 503)  # no session: the login page; never a 500

            pg.start()
            back_at = time.monotonic()
            statuses = []

            def scans_again():
                response, _ = _post_child(app, token, {"parent": "SB00001", "qr_id": "AFTER-1",
                                                       "scan_id": str(uuid.uuid4())})
                statuses.append(response.status_code)
                return response.status_code in (200, 201)

            wait_for(scans_again, timeout=15, interval=0.2, what="scans accepted again")
            assert time.monotonic() - back_at < 10
            assert set(statuses) <= {503, 201, 200}
            after = [_post_child(app, token, {"parent": "SB00001", "qr_id": f"AFTER-{n + 2}"})[0].status_code
                     for n in range(10)]
            assert after == [201] * 10
            assert requests.get(f"{app.url}/ready/", timeout=5).status_code == 200
            unavailable = [json.loads(line) for line in app.log_lines()
                           if line.startswith("{") and '"status": 503' in line and "tracetrack.request" in line]
            assert len(unavailable) >= 6
        assert pg.psql("SELECT count(*) FROM scans_scan WHERE qr_id LIKE 'DOWN-%'", "tracetrack").strip() == "0"


def test_a_postgresql_restart_under_load_loses_nothing_and_answers_no_500(dispatcher):
    """Phones keep scanning (and retrying by scan_id) while PostgreSQL restarts: pooled
    connections that died with the server are never handed out; every scan answered 201
    is in the database exactly once."""
    scan_parent(user=dispatcher, qr_id="SB00001")
    for n in range(2, 9):
        scan_parent(user=dispatcher, qr_id=f"SB0000{n}")
    token = token_create(user=dispatcher, name="restart")[1]
    with postgres_cluster() as pg:
        url = pg.copy_of_test_database()
        with gunicorn(_app_env(url), workers=2) as app:
            stop = threading.Event()
            acknowledged: list[str] = []
            statuses = Counter()
            lock = threading.Lock()

            def operator(parent: str):
                n = 0
                while not stop.is_set() and n < 30:
                    body = {"parent": parent, "qr_id": f"R{parent}-{n:02d}", "scan_id": str(uuid.uuid4())}
                    while True:  # as the phone's queue does: the same scan_id until answered
                        try:
                            response, _ = _post_child(app, token, body, timeout=10)
                        except requests.RequestException:
                            time.sleep(0.2)
                            continue
                        with lock:
                            statuses[response.status_code] += 1
                        if response.status_code == 201:
                            with lock:
                                acknowledged.append(body["scan_id"])
                            break
                        assert response.status_code == 503, response.text
                        time.sleep(0.2)
                    n += 1

            threads = [threading.Thread(target=operator, args=(f"SB0000{n}",)) for n in range(1, 9)]
            for thread in threads:
                thread.start()
            # Stop it mid-shift, not after a fixed time: on a fast machine the 240 scans were
            # all in before a 1 s sleep ended, and the restart went unseen.
            wait_for(lambda: len(acknowledged) >= 40, timeout=60, what="40 acknowledged scans")
            pg.stop()
            time.sleep(1.5)
            pg.start()
            for thread in threads:
                thread.join(120)
            stop.set()
            assert not any(thread.is_alive() for thread in threads)
            assert not [status for status in statuses if status >= 500 and status != 503], statuses
            assert statuses[503] > 0, "the restart was seen"
        rows = pg.psql("SELECT scan_id FROM scans_scan WHERE kind = 'child'", "tracetrack").split()
        assert sorted(rows) == sorted(acknowledged) and len(rows) == 8 * 30
        assert pg.psql("SELECT sum(child_count) FROM bags_bag WHERE kind = 'parent'", "tracetrack").strip() == "240"


def test_after_a_restart_no_request_gets_a_connection_that_died_with_the_server(dispatcher):
    """Every pooled connection dies with the server. Once it is back, not one request may
    fail on one of them (today: 500s, `terminating connection`)."""
    scan_parent(user=dispatcher, qr_id="SB00001")
    token = token_create(user=dispatcher, name="restart-idle")[1]
    with postgres_cluster() as pg:
        url = pg.copy_of_test_database()
        with gunicorn(_app_env(url), workers=2) as app:
            # Fill both workers' pools.
            with ThreadPoolExecutor(8) as pool:
                warm = list(pool.map(lambda n: _post_child(app, token, {"parent": "SB00001", "qr_id": f"W-{n:02d}"})[0]
                                     .status_code, range(16)))
            assert warm == [201] * 16
            pg.stop()
            pg.start()
            with ThreadPoolExecutor(8) as pool:
                after = list(pool.map(lambda n: _post_child(app, token, {"parent": "SB00002", "qr_id": f"A-{n:02d}"})[0]
                                      .status_code, range(16)))
            assert after == [404] * 16  # every request reached the database: no such parent, not a 5xx


def test_redis_down_keeps_scans_and_pages_working(dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    token = token_create(user=dispatcher, name="redis")[1]
    with postgres_cluster() as pg, redis_server() as (redis_url, redis_process):
        url = pg.copy_of_test_database()
        with gunicorn(_app_env(url, redis_url), workers=1) as app:
            assert _post_child(app, token, {"parent": "SB00001", "qr_id": "RD-0001"})[0].status_code == 201
            redis_process.terminate()
            redis_process.wait(10)
            for n in range(2, 6):
                response, seconds = _post_child(app, token, {"parent": "SB00001", "qr_id": f"RD-{n:04d}"})
                assert response.status_code == 201 and seconds < 2.0
            stats = requests.get(f"{app.url}/api/v1/stats/", headers=_headers(token), timeout=5)
            assert stats.status_code == 200
            ready = requests.get(f"{app.url}/ready/", timeout=5)
            assert ready.status_code == 503 and ready.json()["checks"] == {"database": "ok", "cache": "unavailable"}
