"""Backups and restores (manage.py backup / restore) on real databases: a restore gives
back exactly what was backed up (row counts and a checksum of every table), refuses a
database that is not empty, and the app starts on a restored database."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.db import connection

from accounts.services import token_create
from scans.services import scan_child, scan_parent
from tests.servers import ROOT, gunicorn, postgres_cluster

TABLE_SUMS = """
SELECT string_agg(format('%s:%s', table_name, (xpath('/row/c/text()',
       query_to_xml(format('SELECT count(*) || '':'' || coalesce(md5(string_agg(md5(t::text), '''' ORDER BY md5(t::text))), '''') AS c FROM %I t', table_name), false, true, '')))[1]::text), ' ' ORDER BY table_name)
FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
"""


def manage(*args: str, env: dict[str, str], check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "DEBUG": "0", "HTTPS": "0", "SECRET_KEY": "backup-test-" + "x" * 40,
            "ALLOWED_HOSTS": "localhost", **env}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full, capture_output=True, text=True,
                          check=check, input=stdin, timeout=300)


def sums(cluster, database: str) -> dict[str, str]:
    out = cluster.psql(TABLE_SUMS, database).strip()
    return dict(item.split(":", 1) for item in out.split())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_backup_scan_more_restore_gives_back_the_backup(dispatcher, tmp_path):
    scan_parent(user=dispatcher, qr_id="SB00001")
    for n in range(5):
        scan_child(user=dispatcher, parent_qr="SB00001", qr_id=f"BK-{n:04d}")
    with postgres_cluster() as pg:
        live = pg.copy_of_test_database("live")
        env = {"DATABASE_URL": live, "BACKUP_DIR": str(tmp_path / "backups"), "BACKUP_KEEP": "3"}
        path = Path(manage("backup", env=env).stdout.strip())
        assert path.is_file() and path.name.startswith("tracetrack-live-") and path.suffix == ".dump"
        at_backup = sums(pg, "live")
        assert int(at_backup["bags_bag"].split(":")[0]) == 6 and int(at_backup["scans_scan"].split(":")[0]) == 6

        # More scans after the backup.
        code = ("from accounts.models import User; from scans.services import scan_child; "
                "u = User.objects.get(username='disp_lucknow'); "
                "[scan_child(user=u, parent_qr='SB00001', qr_id=f'AFTER-{n}') for n in range(3)]")
        manage("shell", "-c", code, env=env)
        assert sums(pg, "live") != at_backup

        # Into a new, empty database.
        pg.psql("CREATE DATABASE restored")
        restored_env = {**env, "DATABASE_URL": pg.url("restored")}
        out = manage("restore", str(path), "--noinput", env=restored_env).stdout
        assert "Restored" in out
        assert sums(pg, "restored") == at_backup

        # A database that is not empty is refused, unless --force.
        refused = manage("restore", str(path), "--noinput", env=env, check=False)
        assert refused.returncode != 0 and "is not empty" in refused.stderr
        manage("restore", str(path), "--noinput", "--force", env=env)
        assert sums(pg, "live") == at_backup

        # Without --noinput it asks, and anything but "yes" keeps the database.
        pg.psql("CREATE DATABASE asked")
        asked = manage("restore", str(path), env={**env, "DATABASE_URL": pg.url("asked")}, check=False, stdin="no\n")
        assert asked.returncode != 0 and "cancelled" in asked.stderr

        # Rotation keeps the newest BACKUP_KEEP.
        for _ in range(4):
            time.sleep(0.01)
            manage("backup", env=env)
        assert len(list((tmp_path / "backups").glob("tracetrack-live-*.dump"))) == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_app_starts_on_a_database_restored_while_it_was_stopped(dispatcher, tmp_path):
    scan_parent(user=dispatcher, qr_id="SB00001")
    token = token_create(user=dispatcher, name="restored")[1]
    with postgres_cluster() as pg:
        live = pg.copy_of_test_database("live")
        env = {"DATABASE_URL": live, "BACKUP_DIR": str(tmp_path / "backups")}
        path = Path(manage("backup", env=env).stdout.strip())
        # The app is stopped; the database is lost; a new one is restored.
        pg.psql("DROP DATABASE live")
        pg.psql("CREATE DATABASE live")
        manage("restore", str(path), "--noinput", env=env)
        auth = {"Authorization": f"Bearer {token}"}
        with gunicorn({"DATABASE_URL": live, "CACHE_KEY_PREFIX": f"rst-{uuid.uuid4().hex[:8]}"}) as app:
            assert requests.get(f"{app.url}/ready/", timeout=10).status_code == 200
            assert requests.get(f"{app.url}/api/v1/bags/SB00001/", headers=auth, timeout=10).status_code == 200
            scanned = requests.post(f"{app.url}/api/v1/scans/child/", headers=auth, timeout=10,
                                    json={"parent": "SB00001", "qr_id": "RESTORED-1"})
            assert scanned.status_code == 201
        assert "RESTORED-1" in pg.psql("SELECT qr_id FROM bags_bag", "live")


@pytest.mark.django_db(transaction=True)
def test_sqlite_backup_and_restore(dispatcher, tmp_path, settings):
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite path (the PostgreSQL one is above)")
    from django.core.management import call_command

    from bags.models import Bag
    from tracetrack.backups import backup, restore

    settings.BACKUP_DIR = tmp_path / "backups"
    scan_parent(user=dispatcher, qr_id="SB00001")
    path = backup()
    assert path.suffix == ".sqlite3" and path.stat().st_size > 0
    scan_parent(user=dispatcher, qr_id="SB00002")
    from tracetrack.backups import BackupError

    with pytest.raises(BackupError, match="not empty"):
        restore(path)
    restore(path, force=True)
    assert sorted(Bag.objects.values_list("qr_id", flat=True)) == ["SB00001"]
    assert call_command("backup") is None
