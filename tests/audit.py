"""The audit's figures (tests/security, tests/reliability), counted by the tests that prove
them and printed at the end of the run (`-- security audit --` in pytest's summary), so
every CI run restates them. Registered in tests/conftest.py."""

import collections

import pytest

AUDIT: collections.Counter = collections.Counter()


def record(name: str, passed: int, total: int) -> None:
    """`passed` of `total` calls of kind `name` behaved (refused, escaped, unchanged...)."""
    AUDIT[(name, "passed")] += passed
    AUDIT[(name, "total")] += total


@pytest.fixture
def audit():
    return record


def terminal_summary(terminalreporter):
    names = sorted({name for name, _ in AUDIT})
    if not names:
        return
    terminalreporter.section("security audit")
    for name in names:
        terminalreporter.write_line(f"{name}: {AUDIT[(name, 'passed')]:,} of {AUDIT[(name, 'total')]:,}")
