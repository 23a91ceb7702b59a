"""Query counts of every list and detail endpoint: the same at 5 and at 50 rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.services import bill_add_parent, bill_create
from tests.helpers import fill_parent

pytestmark = pytest.mark.django_db


def grow(make_user, dispatcher, biller, rows: int, offset: int):
    """`rows` more parents (each with a child, on a bill of its own), users, and five more
    children in SB00001."""
    from scans.services import scan_child

    for n in range(rows):
        code = f"SB{offset + n:05d}"
        fill_parent(dispatcher, code, 1, start=offset * 100 + n)
        bill_create(user=biller, bill_id=f"B{offset + n:05d}", capacity=2, destination="D", vehicle_number="V")
        bill_add_parent(user=biller, bill_id=f"B{offset + n:05d}", parent_qr=code)
        make_user("biller")
    for n in range(5):
        scan_child(user=dispatcher, parent_qr="SB00001", qr_id=f"KID{offset:03d}{n:02d}")


def count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


ENDPOINTS = [
    "/api/v1/bags/?page_size=200",
    "/api/v1/bags/?kind=child&page_size=200",
    "/api/v1/bags/SB00001/",
    "/api/v1/scans/?page_size=200",
    "/api/v1/bills/?page_size=200",
    "/api/v1/bills/B00001/",
    "/api/v1/users/",
    "/api/v1/areas/",
    "/api/v1/stats/",
    "/api/v1/bills/summary/",
]
# Ceilings: auth/session queries are none with force_authenticate; what is left is the
# page itself (plus the children or parents of a detail).
CEILING = {
    "/api/v1/bills/summary/": 6,  # totals, children, and three per-user groupings
    "/api/v1/stats/": 5,  # bag and bill counters, today's tally, the last hour's minutes and its oldest part
}


@pytest.mark.parametrize("url", ENDPOINTS)
def test_query_count_does_not_grow_with_rows(api, make_user, dispatcher, biller, admin_user, url):
    grow(make_user, dispatcher, biller, 5, offset=1)
    client = api(admin_user)
    small = count(client, url)
    grow(make_user, dispatcher, biller, 45, offset=100)
    large = count(client, url)
    assert small == large, f"{url}: {small} queries at 5 rows, {large} at 50"
    assert large <= CEILING.get(url, 4), f"{url}: {large} queries"


def test_dispatcher_lists_cost_the_same(api, make_user, dispatcher, biller):
    grow(make_user, dispatcher, biller, 5, offset=1)
    client = api(dispatcher)
    small = [count(client, url) for url in ("/api/v1/bags/", "/api/v1/scans/", "/api/v1/stats/")]
    grow(make_user, dispatcher, biller, 45, offset=100)
    assert [count(client, url) for url in ("/api/v1/bags/", "/api/v1/scans/", "/api/v1/stats/")] == small
