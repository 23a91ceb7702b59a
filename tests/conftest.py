"""Shared fixtures. Data is built through the services, as production builds it."""

from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import DispatchArea, Role
from accounts.services import user_create

PASSWORD = "Scan-Bags-2026!"


def pytest_collection_modifyitems(config, items):
    if connection.vendor != "postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """PBKDF2 at production strength costs ~0.3 s a user; tests make hundreds."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def one_window():
    """Rate limits count in fixed windows (tracetrack.ratelimit): a test that counts up to a
    limit must not straddle the end of one (it failed now and then when it did). The clock
    starts at the beginning of a minute and runs on; the cache is emptied for every test,
    so no count of an earlier run is met there."""
    import time_machine

    with time_machine.travel(datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC), tick=True):
        yield


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate-limit and lockout counters live in the cache: start every test from zero.
    delete_pattern keeps to this run's key prefix on a shared Redis."""
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()
    yield


def area(code: str) -> DispatchArea:
    # get_or_create: transactional tests truncate tables, including the seeded areas.
    return DispatchArea.objects.get_or_create(code=code, defaults={"name": code.title()})[0]


@pytest.fixture
def lucknow(db):
    return area("lucknow")


@pytest.fixture
def indore(db):
    return area("indore")


@pytest.fixture
def make_user(db):
    counter = {"n": 0}

    def make(role: str = Role.DISPATCHER, *, area_code: str | None = None, username: str | None = None):
        """A user of `role`; dispatchers default to lucknow, others to no area."""
        counter["n"] += 1
        if role == Role.DISPATCHER and area_code is None:
            area_code = "lucknow"
        return user_create(
            actor=None,
            username=username or f"{role}{counter['n']}",
            password=PASSWORD,
            role=role,
            dispatch_area=area(area_code) if area_code else None,
        )

    return make


@pytest.fixture
def dispatcher(make_user, lucknow):
    return make_user(Role.DISPATCHER, area_code="lucknow", username="disp_lucknow")


@pytest.fixture
def other_dispatcher(make_user, indore):
    return make_user(Role.DISPATCHER, area_code="indore", username="disp_indore")


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER, username="biller")


@pytest.fixture
def admin_user(make_user):
    return make_user(Role.ADMIN, username="admin")


@pytest.fixture
def api():
    """`api(user)` → an APIClient signed in as `user` (or anonymous for None)."""

    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


from tests.audit import audit  # noqa: E402, F401 - the fixture


def pytest_terminal_summary(terminalreporter):
    from tests.audit import terminal_summary

    terminal_summary(terminalreporter)
