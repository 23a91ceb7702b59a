"""The deployment files in deploy/: nginx accepts the site file, systemd the units, the
env file names real settings, and the deploy script is valid shell."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


@pytest.mark.skipif(not shutil.which("nginx"), reason="needs nginx (Debian's package; CI installs it)")
def test_nginx_accepts_the_site_file(tmp_path):
    """`nginx -t` on the site file inside a minimal `http {}`, with a throwaway certificate
    in place of the real one."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True)
    site = (DEPLOY / "nginx" / "tracetrack.conf").read_text()
    site = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {tmp_path / 'cert.pem'};", site)
    site = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {tmp_path / 'key.pem'};", site)
    site = site.replace("/etc/nginx/tracetrack_proxy_params", str(DEPLOY / "nginx" / "tracetrack_proxy_params"))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  include {tmp_path}/site.conf;\n}}\n")
    result = subprocess.run(["nginx", "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_systemd_accepts_the_units(tmp_path):
    """`systemd-analyze verify` on the units, with /srv/tracetrack (where they expect the app)
    pointing at this checkout, so that the commands they run are checked to exist."""
    for unit in (DEPLOY / "systemd").iterdir():
        (tmp_path / unit.name).write_text(unit.read_text().replace("/srv/tracetrack", str(ROOT)))
    units = sorted(str(path) for path in tmp_path.iterdir())
    assert {Path(u).name for u in units} >= {"tracetrack.service", "tracetrack-worker.service",
                                             "tracetrack-beat.service", "tracetrack-backup.service",
                                             "tracetrack-backup.timer"}
    result = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_units_reload_gunicorn_with_hup_and_check_before_start():
    app = (DEPLOY / "systemd" / "tracetrack.service").read_text()
    assert "ExecReload=/bin/kill -s HUP $MAINPID" in app
    assert "manage.py check --deploy" in app
    assert "OnCalendar=" in (DEPLOY / "systemd" / "tracetrack-backup.timer").read_text()


def test_the_env_file_sets_only_known_settings():
    known = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    known |= {"PROMETHEUS_MULTIPROC_DIR"}
    used = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (DEPLOY / "tracetrack.env").read_text(), re.M))
    assert used - known == set(), f"not in .env.example: {sorted(used - known)}"


def test_the_deploy_script_is_valid_shell_that_migrates_collects_and_reloads():
    subprocess.run(["bash", "-n", str(DEPLOY / "deploy.sh")], check=True)
    script = (DEPLOY / "deploy.sh").read_text()
    for step in ("manage.py migrate", "manage.py collectstatic", "systemctl reload tracetrack", "/ready/"):
        assert step in script
