"""Real servers for the tests that need processes of their own: a PostgreSQL cluster, a
Redis, gunicorn running the app. Each starts on free ports of its own, in a temporary
folder, and is stopped (and removed) afterwards: the shared servers are never touched.

PostgreSQL clusters are made with initdb as the `postgres` user (the tests run as root in
CI); without that, the tests that need one are skipped.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path("/usr/lib/postgresql") / (sorted(os.listdir("/etc/postgresql"))[-1] if os.path.isdir("/etc/postgresql")
                                         else "15") / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, *, timeout: float = 30.0, interval: float = 0.1, what: str = "a condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 - not ready yet
            last = exc
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} ({last!r})")


def _as_postgres(*command: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True,
                          text=True, **kwargs)


def can_run_postgres() -> bool:
    return os.geteuid() == 0 and (PG_BIN / "initdb").exists() and shutil.which("runuser") is not None


class PostgresCluster:
    """A PostgreSQL server of the test's own, on its own port, in a temporary folder."""

    def __init__(self, *, settings: dict | None = None):
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tt-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.settings = {"fsync": "off", "full_page_writes": "off", "synchronous_commit": "off",
                         **(settings or {})}
        shutil.chown(self.root, "postgres", "postgres")
        _as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                     "--no-sync", "-E", "UTF8")
        with (self.data / "postgresql.conf").open("a") as conf:
            for name, value in self.settings.items():
                conf.write(f"{name} = {value}\n")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> "PostgresCluster":
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                     "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def psql(self, sql: str, database: str = "postgres") -> str:
        return subprocess.run([str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                               "-d", database, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                              check=True, capture_output=True, text=True).stdout

    def copy_of_test_database(self, name: str = "tracetrack") -> str:
        """A database here with the schema and the committed rows of this test run's
        database (migrated once already, so no migrations run again): its URL."""
        self.psql(f'CREATE DATABASE "{name}"')
        source = connection.settings_dict
        dump = subprocess.run(
            [str(PG_BIN / "pg_dump"), "--no-owner", "--no-privileges", "-h", source["HOST"] or "127.0.0.1",
             "-p", str(source["PORT"] or 5432), "-U", source["USER"] or "postgres", source["NAME"]],
            check=True, capture_output=True,
        ).stdout
        subprocess.run([str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", name,
                        "-q", "-v", "ON_ERROR_STOP=1"], input=dump, check=True, capture_output=True)
        return self.url(name)

    def remove(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def postgres_cluster(**kwargs):
    if not can_run_postgres():
        pytest.skip("needs root and PostgreSQL's initdb to start a cluster of its own")
    cluster = PostgresCluster(**kwargs)
    try:
        yield cluster.start()
    finally:
        cluster.remove()


@contextmanager
def redis_server():
    """A Redis of the test's own: (its URL, the process)."""
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        import redis

        wait_for(lambda: redis.Redis.from_url(url).ping(), what="redis")
        yield url, process
    finally:
        process.terminate()
        process.wait(10)


class Gunicorn:
    """The app under gunicorn_production.py, on its own port, with `env` on top of the
    test's environment. Its output (JSON log lines) is kept in `log_path`."""

    def __init__(self, env: dict[str, str], *, workers: int = 1, worker_class: str = "gevent",
                 port: int | None = None, bind_host: str = "127.0.0.1"):
        self.port = port or free_port()
        self.url = f"http://{bind_host}:{self.port}"
        self.root = Path(tempfile.mkdtemp(prefix="tt-gunicorn-"))
        self.log_path = self.root / "gunicorn.log"
        self.env = {
            **os.environ,
            "DEBUG": "0", "HTTPS": "0", "STATIC_MANIFEST": "0", "LOG_LEVEL": "INFO",
            "ALLOWED_HOSTS": "*", "SECRET_KEY": os.environ.get("SECRET_KEY", "test-secret-" + "x" * 40),
            "GUNICORN_BIND": f"{bind_host}:{self.port}", "GUNICORN_WORKERS": str(workers),
            "GUNICORN_WORKER_CLASS": worker_class, "GUNICORN_MAX_REQUESTS": "0", "GUNICORN_GRACEFUL_TIMEOUT": "3",
            "PROMETHEUS_MULTIPROC_DIR": str(self.root / "metrics"),
            "VAR_DIR": str(self.root / "var"),
            **env,
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> "Gunicorn":
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn_production.py"), "tracetrack.wsgi"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for(lambda: requests.get(self.url + "/health/", timeout=1).status_code == 200, timeout=60,
                 what=f"gunicorn on {self.port} ({self.log_path})")
        return self

    def stop_hard(self) -> None:
        """As a crash: the master and its workers killed at once (`kill -9`)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def gunicorn(env: dict[str, str], **kwargs):
    server = Gunicorn(env, **kwargs)
    try:
        yield server.start()
    finally:
        server.remove()


class Replica:
    """A streaming replica of `primary` (pg_basebackup -R), on its own port."""

    def __init__(self, primary: PostgresCluster):
        self.primary = primary
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tt-replica-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        shutil.chown(self.root, "postgres", "postgres")
        _as_postgres(str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                     "-D", str(self.data), "-R", "-X", "stream", "--no-sync", "--checkpoint=fast")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> "Replica":
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                     "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    psql = PostgresCluster.psql

    def remove(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def replica_of(primary: PostgresCluster):
    replica = Replica(primary)
    try:
        yield replica.start()
    finally:
        replica.remove()


class Nginx:
    """nginx in front of `upstreams` (host:port), with the project's proxy settings
    (deploy/nginx/tracetrack_proxy_params) and an access log that names the upstream
    that answered each request."""

    def __init__(self, upstreams: list[str]):
        if not shutil.which("nginx"):
            pytest.skip("needs nginx (Debian's package; CI installs it)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = Path(tempfile.mkdtemp(prefix="tt-nginx-"))
        self.access_log = self.root / "access.log"
        servers = "\n".join(f"    server {upstream} max_fails=1 fail_timeout=30s;" for upstream in upstreams)
        (self.root / "nginx.conf").write_text(f"""
daemon off;
pid {self.root}/nginx.pid;
error_log {self.root}/error.log warn;
worker_processes 1;
events {{ worker_connections 1024; }}
http {{
  client_body_temp_path {self.root}/body;
  proxy_temp_path {self.root}/proxy;
  fastcgi_temp_path {self.root}/fastcgi;
  uwsgi_temp_path {self.root}/uwsgi;
  scgi_temp_path {self.root}/scgi;
  log_format upstreams '$request_method $uri $status $upstream_addr $upstream_status';
  access_log {self.access_log} upstreams;
  upstream tracetrack_app {{
{servers}
    keepalive 16;
  }}
  server {{
    listen 127.0.0.1:{self.port};
    set $tt_request_id $request_id;
    if ($http_x_request_id ~ "^[A-Za-z0-9._:-]{{1,64}}$") {{ set $tt_request_id $http_x_request_id; }}
    location / {{
      proxy_pass http://tracetrack_app;
      include {ROOT / 'deploy' / 'nginx' / 'tracetrack_proxy_params'};
    }}
  }}
}}
""")
        self.process: subprocess.Popen | None = None

    def start(self) -> "Nginx":
        self.process = subprocess.Popen(["nginx", "-c", str(self.root / "nginx.conf"), "-p", str(self.root)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for(lambda: requests.get(self.url + "/health/", timeout=1).status_code == 200, what="nginx")
        return self

    def log_lines(self) -> list[list[str]]:
        return [line.split() for line in self.access_log.read_text().splitlines()]

    def remove(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def nginx(upstreams: list[str]):
    server = Nginx(upstreams)
    try:
        yield server.start()
    finally:
        server.remove()


class CeleryWorker:
    """A Celery worker of the app (`celery -A tracetrack worker`), on a queue of its own."""

    def __init__(self, env: dict[str, str], queue: str):
        self.root = Path(tempfile.mkdtemp(prefix="tt-celery-"))
        self.log_path = self.root / "worker.log"
        self.queue = queue
        self.env = {**os.environ, "DEBUG": "0", "HTTPS": "0", "LOG_LEVEL": "INFO", "JOBS_BACKEND": "celery",
                    "CELERY_QUEUE": queue, "SECRET_KEY": os.environ.get("SECRET_KEY", "test-secret-" + "x" * 40),
                    "VAR_DIR": str(self.root / "var"), **env}
        self.process: subprocess.Popen | None = None

    def start(self) -> "CeleryWorker":
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tracetrack", "worker", "--pool", "solo", "--queues", self.queue,
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for(lambda: "ready" in self.log_path.read_text(errors="replace"), timeout=60,
                 what=f"the celery worker ({self.log_path})")
        return self

    def kill(self) -> None:
        """As `kill -9`: no chance to clean up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def remove(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def celery_worker(env: dict[str, str], queue: str):
    worker = CeleryWorker(env, queue)
    try:
        yield worker.start()
    finally:
        worker.remove()
