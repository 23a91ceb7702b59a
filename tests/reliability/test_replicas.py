"""Reads from a real streaming replica (pg_basebackup -R of a primary the test starts):
stale-tolerant reads go to it, a user who just wrote reads from the primary, a replica
that lags past REPLICA_MAX_LAG or is down is skipped — and no request fails."""

import time
import uuid

import pytest
import requests

from accounts.services import token_create
from scans.services import scan_parent
from tests.servers import gunicorn, postgres_cluster, replica_of, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def headers(token):
    return {"Authorization": f"Bearer {token}"}


def test_reads_go_to_a_fit_replica_and_writers_read_their_writes(dispatcher, make_user):
    scan_parent(user=dispatcher, qr_id="SB00001")
    writer = token_create(user=dispatcher, name="writer")[1]
    reader = token_create(user=make_user("dispatcher", username="reader"), name="reader")[1]
    with postgres_cluster() as primary:
        url = primary.copy_of_test_database()
        with replica_of(primary) as replica:
            wait_for(lambda: replica.psql("SELECT count(*) FROM bags_bag", "tracetrack").strip() == "1",
                     what="the replica to have the data")
            env = {"DATABASE_URL": url, "DATABASE_REPLICA_URLS": replica.url("tracetrack"), "REPLICA_MAX_LAG": "6",
                   "REPLICA_CHECK_SECONDS": "0.2", "READ_YOUR_WRITES_SECONDS": "1", "RATELIMIT_ENABLE": "0",
                   "CACHE_KEY_PREFIX": f"rep-{uuid.uuid4().hex[:8]}", "DB_POOL_MIN": "1"}
            with gunicorn(env, workers=1) as app:
                def scans_of(token, code):
                    response = requests.get(f"{app.url}/api/v1/scans/", params={"parent": "SB00001", "bag": code},
                                            headers=headers(token), timeout=10)
                    assert response.status_code == 200, response.text
                    return [scan["qr_id"] for scan in response.json()["results"]]

                def scan(code):
                    body = {"parent": "SB00001", "qr_id": code, "scan_id": str(uuid.uuid4())}
                    response = requests.post(f"{app.url}/api/v1/scans/child/", json=body, headers=headers(writer),
                                             timeout=10)
                    assert response.status_code == 201, response.text

                def read_there() -> bool:
                    """Did the app's last statement on a replica connection read the scans?"""
                    return replica.psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'tracetrack' "
                                        "AND query LIKE '%scans_scan%'", "postgres").strip() != "0"

                # Lists are read on the replica.
                assert scans_of(reader, "NONE") == []
                wait_for(read_there, timeout=5, what="the scans list to be read on the replica")

                # Replay held just after a change reached the replica: the next change is
                # not seen there, except by the user who made it.
                scan("REPL-0001")
                wait_for(lambda: replica.psql("SELECT count(*) FROM scans_scan WHERE qr_id = 'REPL-0001'",
                                              "tracetrack").strip() == "1", what="the replica to replay it")
                replica.psql("SELECT pg_wal_replay_pause()")
                scan("REPL-0002")
                assert scans_of(reader, "REPL-0002") == [], "another user's read came from the held replica"
                assert scans_of(writer, "REPL-0002") == ["REPL-0002"], "the writer reads their own write"
                time.sleep(1.5)  # the writer's read-your-writes window is over
                assert scans_of(writer, "REPL-0002") == []

                # Once it lags past REPLICA_MAX_LAG it is skipped.
                wait_for(lambda: scans_of(reader, "REPL-0002") == ["REPL-0002"], timeout=20, interval=0.5,
                         what="the lagging replica to be skipped")
                replica.psql("SELECT pg_wal_replay_resume()")

                # A replica that stops: reads go to the primary, without an error.
                replica.stop()
                for _ in range(5):
                    assert scans_of(reader, "REPL-0002") == ["REPL-0002"]
                # ... and once it is back, it is used again.
                replica.start()
                wait_for(lambda: replica.psql("SELECT count(*) FROM scans_scan WHERE qr_id = 'REPL-0002'",
                                              "tracetrack").strip() == "1", what="the replica to catch up")
                wait_for(lambda: scans_of(reader, "NONE") == [] and read_there(),
                         timeout=20, interval=0.5, what="the replica to be used again")
                log = "\n".join(app.log_lines())
                assert '"status": 5' not in log.replace('"status": 503', "")
