"""Backups of the database and their restore (`manage.py backup`, `manage.py restore`).

PostgreSQL: `pg_dump --format=custom` (one consistent snapshot, restorable table by table
with `pg_restore`); SQLite: its online backup API (a consistent copy while the app runs).
Files go to BACKUP_DIR as `tracetrack-<database>-<UTC time>.<dump|sqlite3>`; after each
backup the oldest are deleted beyond BACKUP_KEEP files or BACKUP_MAX_AGE_DAYS days (the
newest is always kept). The README's recovery runbook adds point-in-time recovery with WAL
archiving for those who need to go back to any moment, not only to the last dump.
"""

import os
import shutil
import sqlite3
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connections

PREFIX = "tracetrack-"


class BackupError(Exception):
    pass


def _pg_env(db: dict) -> dict[str, str]:
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return env


def _pg_args(db: dict) -> list[str]:
    args = []
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    return args


def _tool(name: str) -> str:
    folder = settings.BACKUP_PG_BIN
    path = str(Path(folder) / name) if folder else shutil.which(name)
    if not path or not Path(path).exists():
        raise BackupError(f"{name} not found (install the PostgreSQL client, or set BACKUP_PG_BIN)")
    return path


def backup(alias: str = "default") -> Path:
    """Write a backup of the database and rotate the old ones; returns the new file."""
    db = connections[alias].settings_dict
    folder = Path(settings.BACKUP_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = Path(str(db["NAME"])).stem if connections[alias].vendor == "sqlite" else str(db["NAME"])
    if connections[alias].vendor == "postgresql":
        target = folder / f"{PREFIX}{name}-{stamp}.dump"
        partial = target.with_suffix(".dump.partial")
        result = subprocess.run([_tool("pg_dump"), *_pg_args(db), "--format=custom", "--file", str(partial),
                                 str(db["NAME"])], env=_pg_env(db), capture_output=True, text=True)
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    elif connections[alias].vendor == "sqlite":
        target = folder / f"{PREFIX}{name}-{stamp}.sqlite3"
        partial = target.with_suffix(".sqlite3.partial")
        connection = connections[alias]
        connection.ensure_connection()
        with sqlite3.connect(partial) as destination:
            connection.connection.backup(destination)
        destination.close()
    else:
        raise BackupError(f"No backup for {connections[alias].vendor} databases")
    partial.rename(target)  # a backup file is whole or absent
    rotate(folder)
    return target


def rotate(folder: Path) -> list[Path]:
    """Delete backups beyond the newest BACKUP_KEEP and older than BACKUP_MAX_AGE_DAYS."""
    files = sorted((p for p in folder.glob(f"{PREFIX}*") if p.suffix in (".dump", ".sqlite3")),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    cutoff = time.time() - settings.BACKUP_MAX_AGE_DAYS * 86400
    removed = []
    for index, path in enumerate(files):
        if index == 0:
            continue  # the newest stays, however old
        if index >= settings.BACKUP_KEEP or path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def tables(alias: str = "default") -> list[str]:
    with connections[alias].cursor() as cursor:
        return connections[alias].introspection.table_names(cursor)


def restore(path: Path, *, alias: str = "default", force: bool = False) -> None:
    """Restore a backup file into the database, which must be empty (no tables) unless
    `force` (then everything in it is dropped first)."""
    if not path.is_file():
        raise BackupError(f"No file {path}")
    connection = connections[alias]
    present = tables(alias)
    if present and not force:
        raise BackupError(f"The database {connection.settings_dict['NAME']} is not empty ({len(present)} tables): "
                          "restore into an empty database, or use --force to replace everything in it")
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        if present:
            with connection.cursor() as cursor:
                cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        connection.close()
        if getattr(connection, "pool", None) is not None:
            connection.close_pool()
        result = subprocess.run([_tool("pg_restore"), *_pg_args(db), "--no-owner", "--no-privileges",
                                 "--exit-on-error", "--single-transaction", "--dbname", str(db["NAME"]), str(path)],
                                env=_pg_env(db), capture_output=True, text=True)
        if result.returncode != 0:
            raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
    elif connection.vendor == "sqlite":
        connection.ensure_connection()
        with sqlite3.connect(path) as source:
            source.backup(connection.connection)
        source.close()
    else:
        raise BackupError(f"No restore for {connection.vendor} databases")
