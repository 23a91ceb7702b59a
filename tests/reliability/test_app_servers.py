"""Several app servers behind nginx (Debian's), as deployed: nothing one server keeps is
needed by another — sessions, cache, rate limits, lockouts, idempotency are shared — and
when one server dies mid-shift, nginx sends the clients to the survivor and every
acknowledged scan is in the database exactly once."""

import threading
import time
import uuid
from collections import Counter

import pytest
import requests

from accounts.services import token_create
from scans.services import scan_parent
from tests.conftest import PASSWORD
from tests.servers import gunicorn, nginx, postgres_cluster

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _env(url: str, prefix: str, **extra) -> dict[str, str]:
    return {"DATABASE_URL": url, "CACHE_KEY_PREFIX": prefix, "DB_POOL_MAX": "4", "DB_POOL_MIN": "1",
            "PROXY_COUNT": "1", "LOG_FORMAT": "json", **extra}


def test_a_session_a_rate_limit_and_an_idempotent_retry_hold_across_servers(dispatcher):
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from accounts.models import User

    scan_parent(user=dispatcher, qr_id="SB00001")
    # The servers use production's hashers, not the tests' fast one.
    hasher = PBKDF2PasswordHasher()
    User.objects.filter(pk=dispatcher.pk).update(password=hasher.encode(PASSWORD, hasher.salt()))
    token = token_create(user=dispatcher, name="two")[1]
    with postgres_cluster() as pg:
        url = pg.copy_of_test_database()
        prefix = f"two-{uuid.uuid4().hex[:8]}"
        env = _env(url, prefix, RATE_LIMIT_SCAN="6/m")
        with gunicorn(env) as one, gunicorn(env) as two:
            # A session made on one server works on the other.
            session = requests.Session()
            page = session.get(f"{one.url}/login/", timeout=10)
            assert page.status_code == 200
            login = session.post(f"{one.url}/login/", data={"username": dispatcher.username, "password": PASSWORD,
                                                            "csrfmiddlewaretoken": session.cookies["csrftoken"]},
                                 headers={"Referer": f"{one.url}/login/"}, timeout=10, allow_redirects=False)
            assert login.status_code == 302
            assert session.get(f"{two.url}/api/v1/me/", timeout=10).json()["username"] == dispatcher.username

            # A retry sent to the other server replays the first answer.
            auth = {"Authorization": f"Bearer {token}"}
            body = {"parent": "SB00001", "qr_id": "TWO-0001", "scan_id": str(uuid.uuid4())}
            first = requests.post(f"{one.url}/api/v1/scans/child/", json=body, headers=auth, timeout=10)
            again = requests.post(f"{two.url}/api/v1/scans/child/", json=body, headers=auth, timeout=10)
            assert (first.status_code, again.status_code) == (201, 201) and first.content == again.content

            # The scan rate limit counts on both: 6 a minute in all (two used above).
            statuses = [requests.post(f"{server.url}/api/v1/scans/child/", headers=auth, timeout=10,
                                      json={"parent": "SB00001", "qr_id": f"TWO-1{n:03d}"}).status_code
                        for n, server in zip(range(6), [one, two] * 3, strict=True)]
            assert statuses == [201, 201, 201, 201, 429, 429]

            # A lockout earned on one server holds on the other.
            for _ in range(5):
                requests.post(f"{one.url}/api/v1/auth/token/", json={"username": dispatcher.username,
                                                                     "password": "wrong"}, timeout=10)
            locked = requests.post(f"{two.url}/api/v1/auth/token/", timeout=10,
                                   json={"username": dispatcher.username, "password": PASSWORD})
            assert locked.status_code == 429 and locked.json()["code"] == "locked_out"


def test_a_server_killed_mid_shift_loses_no_acknowledged_scan(dispatcher, make_user):
    operators = [make_user("dispatcher", username=f"op{n}") for n in range(6)]
    for n in range(6):
        scan_parent(user=operators[n], qr_id=f"SB0010{n}")
    tokens = [token_create(user=operator, name="shift")[1] for operator in operators]
    with postgres_cluster() as pg:
        url = pg.copy_of_test_database()
        env = _env(url, f"shift-{uuid.uuid4().hex[:8]}", RATELIMIT_ENABLE="0")
        with gunicorn(env) as one, gunicorn(env) as two, nginx([f"127.0.0.1:{one.port}",
                                                                f"127.0.0.1:{two.port}"]) as proxy:
            acknowledged: list[str] = []
            statuses = Counter()
            lock = threading.Lock()
            killed = threading.Event()

            def shift(n: int):
                auth = {"Authorization": f"Bearer {tokens[n]}"}
                for k in range(30):
                    body = {"parent": f"SB0010{n}", "qr_id": f"SH{n}-{k:02d}", "scan_id": str(uuid.uuid4())}
                    while True:  # the phone's queue: the same scan_id until it gets an answer
                        try:
                            response = requests.post(f"{proxy.url}/api/v1/scans/child/", json=body, headers=auth,
                                                     timeout=10)
                        except requests.RequestException:
                            time.sleep(0.2)
                            continue
                        with lock:
                            statuses[response.status_code] += 1
                        if response.status_code == 201:
                            with lock:
                                acknowledged.append(body["scan_id"])
                            break
                        time.sleep(0.2)  # 502/503 while a server dies: try again
                    time.sleep(0.02)

            threads = [threading.Thread(target=shift, args=(n,)) for n in range(6)]
            for thread in threads:
                thread.start()
            while len(acknowledged) < 50:
                time.sleep(0.05)
            one.stop_hard()
            killed.set()
            after_kill = len(proxy.log_lines())
            for thread in threads:
                thread.join(120)
            assert not any(thread.is_alive() for thread in threads)
            lines = proxy.log_lines()
            served_before = Counter(line[3].split(",")[-1] for line in lines[:after_kill] if line[2] == "201")
            served_after = Counter(line[3].split(",")[-1] for line in lines[after_kill + 20:] if line[2] == "201")
        assert set(served_before) == {f"127.0.0.1:{one.port}", f"127.0.0.1:{two.port}"}, served_before
        assert set(served_after) == {f"127.0.0.1:{two.port}"}, served_after
        assert not [status for status in statuses if status >= 500 and status not in (502, 503)], statuses
        rows = pg.psql("SELECT scan_id FROM scans_scan WHERE kind = 'child'", "tracetrack").split()
        assert len(rows) == len(set(rows)) == 180 and sorted(rows) == sorted(acknowledged)
        assert pg.psql("SELECT sum(child_count) FROM bags_bag WHERE qr_id LIKE 'SB0010%'", "tracetrack").strip() == "180"
