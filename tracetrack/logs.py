"""Logs: one JSON object a line (python-json-logger), or a human line with LOG_FORMAT=text.

python-json-logger, because everything in the process already logs through the standard
`logging` module — Django, gunicorn, psycopg, Celery, our code — and a formatter turns all
of it into JSON without touching a single call site; structlog would add a second logging
API next to the one every library uses. Every line carries the request's id and user
(`RequestContextFilter`); the request line of `tracetrack.middleware` adds method, path,
route, status and the time spent in total, in the database and in the cache.
"""

import logging

from django.utils.functional import empty

from tracetrack import request_context

JSON_FIELDS = ["levelname", "name", "message"]
RENAMED = {"levelname": "level", "name": "logger"}
# `time`: ISO 8601 in UTC, the same in gunicorn's master and in its workers (Django sets the
# process's local zone to TIME_ZONE in the workers).
TIMESTAMP = "time"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(user)s] %(message)s"


class RequestContextFilter:
    """Adds `request_id` and `user` (the signed-in username, when the request has looked
    its user up already) to every record."""

    def filter(self, record) -> bool:
        context = request_context.current()
        if not hasattr(record, "request_id"):
            record.request_id = context.request_id
        if not hasattr(record, "user"):
            record.user = _username(context.request)
        return True


def _username(request) -> str | None:
    # Never make the request load its user just to log a line (that would query, and log).
    user = getattr(request, "__dict__", {}).get("user")
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    user = getattr(user, "_wrapped", user)
    return user.username if getattr(user, "is_authenticated", False) else None


def logging_config(*, level: str, fmt: str) -> dict:
    """A `logging.config.dictConfig` for Django's LOGGING and gunicorn's logconfig_dict."""
    formatter = (
        {"()": "logging.Formatter", "format": TEXT_FORMAT}
        if fmt == "text"
        else {"()": "pythonjsonlogger.json.JsonFormatter", "fmt": JSON_FIELDS, "rename_fields": RENAMED,
              "timestamp": TIMESTAMP, "json_ensure_ascii": False}
    )
    # Python's warnings (a library's UserWarning) become log records too, not stray lines.
    logging.captureWarnings(True)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": "tracetrack.logs.RequestContextFilter"}},
        "formatters": {"default": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "default", "filters": ["request"]}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            # A 4xx is an answer, not an event: the request line has it. Errors still log.
            "django.request": {"level": "ERROR"},
            "django.server": {"level": "WARNING"},  # runserver's own access lines: ours are richer
            "axes": {"level": "WARNING"},
            "psycopg.pool": {"level": "WARNING"},
            # gunicorn's own loggers, when its logconfig_dict is this config.
            "gunicorn.error": {"level": level, "handlers": ["console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }
