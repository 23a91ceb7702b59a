"""gunicorn's logger (`logger_class` in gunicorn_production.py): its error log through the
project's logging config (JSON lines), and each access-log line as JSON fields rather than
Apache's combined format."""

from gunicorn import glogging


class GunicornLogger(glogging.Logger):
    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        request_id = next((value for name, value in resp.headers or [] if name.lower() == "x-request-id"), None)
        status = getattr(resp, "status_code", None) or str(resp.status).split(None, 1)[0]
        duration_ms = round(request_time.total_seconds() * 1000, 2)
        self.access_log.info("%s %s %s", req.method, req.path, status, extra={
            "request_id": request_id,
            "method": req.method,
            "path": req.path,
            "query": req.query or None,
            "status": int(status),
            "duration_ms": duration_ms,
            "bytes": getattr(resp, "sent", None),
            "remote_addr": environ.get("REMOTE_ADDR"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
            "protocol": environ.get("SERVER_PROTOCOL"),
        })
