"""gunicorn's access log (tracetrack.gunicorn_logging): off unless GUNICORN_ACCESSLOG asks
for it, although gunicorn_production.py always gives a logconfig_dict."""

import importlib
import sys

import pytest
from gunicorn import glogging
from gunicorn.config import Config

from tracetrack.gunicorn_logging import GunicornLogger
from tracetrack.logs import logging_config


def logger_for(accesslog: str | None) -> GunicornLogger:
    """The logger as gunicorn_production.py configures it, without running its setup (which
    would apply the logging config to this test process)."""
    cfg = Config()
    cfg.set("logconfig_dict", logging_config(level="INFO", fmt="json"))
    cfg.set("accesslog", accesslog)
    logger = GunicornLogger.__new__(GunicornLogger)
    logger.cfg = cfg
    return logger


def test_off_without_accesslog_although_a_logconfig_dict_is_given():
    logger = logger_for(None)
    assert glogging.Logger._compute_access_log_enabled(logger)  # gunicorn alone: on
    assert logger.access_log_enabled is False


def test_on_when_asked_for():
    assert logger_for("-").access_log_enabled is True


@pytest.mark.parametrize(("environ", "expected"), [({}, None), ({"GUNICORN_ACCESSLOG": "-"}, "-")])
def test_the_production_config_asks_only_when_told(monkeypatch, tmp_path, environ, expected):
    monkeypatch.delenv("GUNICORN_ACCESSLOG", raising=False)
    # The module sets this by default: given here, the test leaves the environment as it was.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop("gunicorn_production", None)
    config = importlib.import_module("gunicorn_production")
    try:
        assert config.accesslog == expected
        assert config.logger_class == "tracetrack.gunicorn_logging.GunicornLogger"
    finally:
        sys.modules.pop("gunicorn_production", None)
