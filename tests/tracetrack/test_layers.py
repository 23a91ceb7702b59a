"""The layers point one way (.importlinter, README: Layout): import-linter keeps the
contract on this tree, and breaks it on a copy given one import that runs back up."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("tracetrack", "accounts", "stats", "bags", "billing", "scans", "backoffice", "reports", "demo")
LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"]


def run(where: Path) -> subprocess.CompletedProcess:
    return subprocess.run(LINT, cwd=where, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"})


def test_the_layers_contract_is_kept():
    result = run(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_import_that_runs_back_up_breaks_it(tmp_path):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    (tmp_path / "bags" / "probe.py").write_text("from billing.models import Bill  # bags must not know bills\n")
    result = run(tmp_path)
    assert result.returncode != 0
    assert "bags.probe -> billing.models" in result.stdout
