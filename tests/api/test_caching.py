"""Cached reads: served from the cache between changes, fresh right after one."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scans.services import scan_child, undo_last_scan
from tests.helpers import fill_parent

pytestmark = pytest.mark.django_db

CACHED = ["/api/v1/stats/", "/api/v1/scans/", "/api/v1/bags/SB00001/", "/api/v1/bags/?search=CH", "/api/v1/me/"]


def queries(client, url) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()


@pytest.mark.parametrize("url", CACHED)
def test_second_read_comes_from_the_cache(api, dispatcher, url):
    fill_parent(dispatcher, "SB00001", 2)
    client = api(dispatcher)
    first, body = queries(client, url)
    second, again = queries(client, url)
    assert second == 0 and again == body
    assert first > 0 or url == "/api/v1/me/"  # me reads the signed-in user, already loaded


def test_a_change_is_visible_at_once(api, dispatcher, other_dispatcher):
    fill_parent(dispatcher, "SB00001", 2)
    client = api(dispatcher)
    assert queries(client, "/api/v1/bags/SB00001/")[1]["child_count"] == 2
    queries(client, "/api/v1/stats/")
    scan_child(user=dispatcher, parent_qr="SB00001", qr_id="CH999999")
    assert queries(client, "/api/v1/bags/SB00001/")[1]["children"][-1] == "CH999999"
    assert queries(client, "/api/v1/stats/")[1]["bags"]["children"] == 3
    assert queries(client, "/api/v1/scans/")[1]["results"][0]["qr_id"] == "CH999999"
    undo_last_scan(user=dispatcher, parent_qr="SB00001")
    assert queries(client, "/api/v1/bags/SB00001/")[1]["child_count"] == 2


def test_scopes_do_not_leak(api, dispatcher, other_dispatcher, biller):
    fill_parent(dispatcher, "SB00001", 2)
    assert queries(api(biller), "/api/v1/bags/SB00001/")[1]["qr_id"] == "SB00001"
    assert api(other_dispatcher).get("/api/v1/bags/SB00001/").status_code == 404
    assert queries(api(other_dispatcher), "/api/v1/stats/")[1]["bags"]["children"] == 0
    assert queries(api(biller), "/api/v1/stats/")[1]["bags"]["children"] == 2


def test_one_rebuild_at_a_time():
    """Stampede protection: requests that miss together wait for one rebuild."""
    import threading
    import time

    from tracetrack.caching import cached_read, data_changed

    data_changed()
    builds, answers = [], []
    start = threading.Barrier(8)

    def build():
        builds.append(1)
        time.sleep(0.3)
        return {"built": len(builds)}

    def read():
        start.wait()
        answers.append(cached_read("stampede", "all", 60, build))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1 and answers == [{"built": 1}] * 8


def test_a_value_built_before_a_change_is_not_served_after_it():
    """A read that started before a change stores what it built under the old generation:
    the next read, after the change, does not take it."""
    from tracetrack.caching import cached_read, data_changed

    def build_and_change():
        data_changed()  # a write commits while this value is being built
        return "old"

    assert cached_read("race", "all", 60, build_and_change) == "old"
    assert cached_read("race", "all", 60, lambda: "new") == "new"
    assert cached_read("race", "all", 60, lambda: "unused") == "new"


def test_a_failed_rebuild_leaves_no_lock_behind(monkeypatch):
    import time

    from tracetrack.caching import cached_read

    def fail():
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        cached_read("failing", "all", 60, fail)
    # Had the lock stayed, this would wait for a builder that is gone.
    monkeypatch.setattr(time, "sleep", lambda seconds: pytest.fail("waited for a rebuild"))
    assert cached_read("failing", "all", 60, lambda: "built") == "built"


def test_with_the_cache_down_a_read_builds_at_once(monkeypatch):
    """A cache that answers nothing (django-redis with IGNORE_EXCEPTIONS: None from add) is
    not taken for another request's rebuild: nobody waits."""
    import time

    from django.core.cache import cache

    from tracetrack.caching import cached_read

    monkeypatch.setattr(cache, "get_many", lambda keys: {})
    monkeypatch.setattr(cache, "add", lambda *args, **kwargs: None)
    monkeypatch.setattr(cache, "get", lambda *args, **kwargs: None)
    monkeypatch.setattr(time, "sleep", lambda seconds: pytest.fail("waited for a rebuild"))
    assert cached_read("down", "all", 60, lambda: "built") == "built"
