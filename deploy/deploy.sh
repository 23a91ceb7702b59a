#!/usr/bin/env bash
# Deploy a release on an app server (run as root from the new checkout's folder):
# install it, migrate, collect static files, reload without dropping a request.
#   deploy/deploy.sh /srv/tracetrack
# Migrations are additive first (a column or index is added in one release and used in the
# next), so the old code keeps running while they apply; big indexes are built
# CONCURRENTLY. Run it on one app server; the others only need `systemctl reload`.
set -euo pipefail
target="${1:-/srv/tracetrack}"
src="$(cd "$(dirname "$0")/.." && pwd)"
# As the service user, with the services' environment (the file is also valid shell).
run() { runuser -u tracetrack -- bash -c 'set -a; . /etc/tracetrack/tracetrack.env; set +a; exec "$@"' run "$@"; }

rsync -a --delete --exclude .venv --exclude var --exclude .git "$src/" "$target/"
chown -R tracetrack:tracetrack "$target"
cd "$target"
test -x .venv/bin/python || run python3 -m venv .venv
run .venv/bin/pip install --quiet -r requirements.txt
run .venv/bin/python manage.py check --deploy --fail-level WARNING
run .venv/bin/python manage.py migrate --noinput
run .venv/bin/python manage.py collectstatic --noinput
systemctl reload tracetrack            # HUP: new workers on the new code, old ones finish their requests
systemctl restart tracetrack-worker tracetrack-beat   # a running job finishes first (TimeoutStopSec)
for _ in $(seq 30); do
  curl -fsS http://127.0.0.1:8000/ready/ >/dev/null && { echo "ready"; exit 0; }
  sleep 1
done
echo "not ready after 30 s: journalctl -u tracetrack" >&2
exit 1
