"""The fault audit (issue 17), against a real gunicorn (two gevent workers) on a PostgreSQL
cluster and a Redis of the test's own: a worker killed with SIGKILL, Redis stopped and
started again, PostgreSQL restarted, each while operators scan (retrying by scan_id, as the
phone's queue does, and trying to overfill their parents). Afterwards every acknowledged
scan is in the database exactly once, nothing else is, the counters match a recount, no
parent holds more than 30, and no answer was a 5xx other than 503 `unavailable`."""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter

import pytest
import requests

from accounts.services import token_create
from scans.services import scan_parent
from tests.reliability.test_operations import _app_env
from tests.servers import ROOT, gunicorn, postgres_cluster, redis_server, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

OPERATORS = 8
ATTEMPTS = 33  # three past the cap: each parent is tried beyond full


class Shift:
    """OPERATORS threads, one parent each, a child scan after another until ATTEMPTS; each
    scan sent with its scan_id until it gets an answer other than 503 or no answer."""

    def __init__(self, url: str, tokens: list[str]):
        self.url, self.tokens = url, tokens
        self.acknowledged: list[str] = []
        self.full: list[str] = []
        self.statuses: Counter = Counter()
        self.unexpected: list[tuple[int, str]] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.operator, args=(n,)) for n in range(OPERATORS)]

    def operator(self, n: int) -> None:
        headers = {"Authorization": f"Bearer {self.tokens[n]}"}
        for k in range(ATTEMPTS):
            body = {"parent": f"SB0020{n}", "qr_id": f"FA{n}-{k:02d}", "scan_id": str(uuid.uuid4())}
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                try:
                    response = requests.post(f"{self.url}/api/v1/scans/child/", json=body, headers=headers, timeout=10)
                except requests.RequestException:
                    time.sleep(0.1)  # no answer (a worker died under it): the same scan again
                    continue
                with self.lock:
                    self.statuses[response.status_code] += 1
                if response.status_code == 503:
                    assert response.json()["code"] == "unavailable"
                    time.sleep(0.2)
                    continue
                with self.lock:
                    if response.status_code in (200, 201) and response.json()["scan"]["scan_id"] == body["scan_id"]:
                        self.acknowledged.append(body["scan_id"])
                    elif response.status_code == 409 and response.json()["code"] == "capacity_reached":
                        self.full.append(body["scan_id"])
                    else:
                        self.unexpected.append((response.status_code, response.text[:200]))
                break
            time.sleep(0.01)

    def start(self) -> "Shift":
        for thread in self.threads:
            thread.start()
        return self

    def wait_for_acknowledged(self, count: int) -> None:
        wait_for(lambda: len(self.acknowledged) >= count, timeout=60, what=f"{count} acknowledged scans")

    def finish(self) -> None:
        for thread in self.threads:
            thread.join(180)
        assert not any(thread.is_alive() for thread in self.threads)


def _restart_redis(process, url: str):
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    time.sleep(3)  # Redis away for three seconds under load
    port = url.rsplit(":", 1)[1].split("/")[0]
    return subprocess.Popen(["redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.parametrize("fault", ["worker killed", "redis stopped", "postgresql restarted"])
def test_acknowledged_scans_survive(fault, make_user, audit):
    operators = [make_user("dispatcher", username=f"fault{n}") for n in range(OPERATORS)]
    for n, operator in enumerate(operators):
        scan_parent(user=operator, qr_id=f"SB0020{n}")
    tokens = [token_create(user=operator, name="fault")[1] for operator in operators]
    restarted = None
    with postgres_cluster() as pg, redis_server() as (redis_url, redis_process):
        database_url = pg.copy_of_test_database()
        env = {**_app_env(database_url, redis_url), "DB_POOL_MAX": "6"}
        with gunicorn(env, workers=2) as app:
            shift = Shift(app.url, tokens).start()
            shift.wait_for_acknowledged(40)
            if fault == "worker killed":
                victim = app.worker_pids()[0]
                os.kill(victim, signal.SIGKILL)
                wait_for(lambda: len(app.worker_pids()) == 2 and victim not in app.worker_pids(), timeout=60,
                         what="gunicorn to replace the killed worker")
            elif fault == "redis stopped":
                restarted = _restart_redis(redis_process, redis_url)
            else:
                pg.stop()
                time.sleep(1.5)
                pg.start()
            shift.finish()
        if restarted is not None:
            restarted.terminate()
            restarted.wait(10)
        rows = pg.psql("SELECT scan_id FROM scans_scan WHERE kind = 'child' AND undone_at IS NULL", "tracetrack").split()
        over = pg.psql("SELECT count(*) FROM bags_bag WHERE kind = 'parent' AND child_count > 30", "tracetrack").strip()
        drift = pg.psql(
            "SELECT count(*) FROM bags_bag b WHERE b.kind = 'parent' AND b.child_count <> "
            "(SELECT count(*) FROM bags_link l WHERE l.parent_id = b.id)", "tracetrack").strip()
        links = int(pg.psql("SELECT count(*) FROM bags_link", "tracetrack").strip())
        recount_env = {key: value for key, value in app.env.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
        recount = subprocess.run([sys.executable, "manage.py", "recount_stats"], cwd=ROOT,
                                 env={**recount_env, "DATABASE_URL": database_url}, capture_output=True, text=True)

    acknowledged = shift.acknowledged
    lost = set(acknowledged) - set(rows)
    doubled = len(rows) - len(set(rows))
    unacknowledged = set(rows) - set(acknowledged)
    server_errors = {status: n for status, n in shift.statuses.items() if status >= 500 and status != 503}
    audit(f"faults ({fault}): acknowledged scans in the database exactly once", len(acknowledged) - len(lost),
          len(acknowledged))
    answers = sum(shift.statuses.values())
    audit(f"faults ({fault}): answers that were no 5xx other than 503 unavailable",
          answers - sum(server_errors.values()), answers)
    assert not lost and doubled == 0 and not unacknowledged, (len(lost), doubled, len(unacknowledged))
    assert len(acknowledged) == OPERATORS * 30 == links  # each parent filled exactly
    assert len(shift.full) == OPERATORS * (ATTEMPTS - 30)
    assert over == "0" and drift == "0"
    assert recount.returncode == 0 and "Counters are exact." in recount.stdout, recount.stdout + recount.stderr
    assert not server_errors and not shift.unexpected, (server_errors, shift.unexpected[:5])
    if fault == "postgresql restarted":
        assert shift.statuses[503] > 0, "the restart was seen"
