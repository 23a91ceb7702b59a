"""The alert rules and the Grafana dashboard in deploy/: valid for the tools that read them
(promtool), and built only on metrics the app really exports."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

from tracetrack import metrics  # noqa: F401 - declares the metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
METRIC = re.compile(r"\b(tracetrack_[a-z_]+)")


def exported_names() -> set[str]:
    names = set()
    for collector in list(REGISTRY._collector_to_names):
        for family in collector.describe() if hasattr(collector, "describe") else []:
            if family.name.startswith("tracetrack_"):
                kind = family.type
                suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}.get(kind, [""])
                names |= {family.name + suffix for suffix in suffixes}
    return names


def used_in(text: str) -> set[str]:
    return set(METRIC.findall(text))


@pytest.mark.skipif(not shutil.which("promtool"), reason="needs promtool (Debian's prometheus package; CI has it)")
def test_promtool_checks_and_unit_tests_the_alert_rules():
    folder = DEPLOY / "prometheus"
    subprocess.run(["promtool", "check", "rules", "alerts.yml"], cwd=folder, check=True, capture_output=True)
    result = subprocess.run(["promtool", "test", "rules", "alerts_test.yml"], cwd=folder, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    subprocess.run(["promtool", "check", "config", "prometheus.yml"], cwd=folder, check=True, capture_output=True)


def test_alerts_use_exported_metrics_and_name_a_runbook():
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"][0]["rules"]
    names = exported_names()
    assert {rule["alert"] for rule in rules} >= {"TraceTrackErrorRate", "TraceTrackScanLatencyHigh", "TraceTrackNotReady",
                                                 "TraceTrackDatabasePoolSaturated", "TraceTrackLockoutSpike"}
    for rule in rules:
        assert used_in(rule["expr"]) <= names, (rule["alert"], used_in(rule["expr"]) - names)
        assert rule["annotations"]["runbook"] == "README.md#when-an-alert-fires"
    readme = (DEPLOY.parent / "README.md").read_text()
    for rule in rules:
        assert f"`{rule['alert']}`" in readme, f"README says nothing about {rule['alert']}"


def test_the_dashboard_is_grafana_json_on_exported_metrics():
    dashboard = json.loads((DEPLOY / "grafana" / "tracetrack.json").read_text())
    assert dashboard["uid"] == "tracetrack" and dashboard["panels"]
    names = exported_names()
    used = set()
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            used |= used_in(target["expr"])
    assert used <= names, used - names
    for family in ("tracetrack_http_request_duration_seconds_bucket", "tracetrack_scans_total",
                   "tracetrack_db_pool_connections", "tracetrack_cache_calls_total", "tracetrack_lockouts_total"):
        assert family in used
