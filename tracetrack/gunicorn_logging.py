"""gunicorn's logger (`logger_class` in gunicorn_production.py): its error log through the
project's logging config (JSON lines), and each access-log line as JSON fields rather than
Apache's combined format."""

from gunicorn import glogging


class GunicornLogger(glogging.Logger):
    @property
    def access_log_enabled(self) -> bool:
        """Only when asked for (`accesslog`: GUNICORN_ACCESSLOG=-). gunicorn also counts a
        `logconfig_dict` as asking, and gunicorn_production.py always gives one (so that its
        lines are JSON): the access log, meant to be off, wrote a second line per request
        (2 % of a scan's CPU) until this said otherwise."""
        return bool(self.cfg.accesslog)

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
