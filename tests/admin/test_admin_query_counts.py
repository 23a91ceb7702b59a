"""Admin changelists, searches and change forms cost the same number of queries at 10 and
at 1,000 rows."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from bags.models import Bag
from billing.models import Bill
from billing.services import bill_add_parent, bill_create
from scans.models import Scan
from tests.helpers import fill_parent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_session_refresh_while_counting(settings):
    # A logged-in session is rewritten once a minute (SessionIdleMiddleware); building the
    # larger data set can take longer than that, and the rewrite is not the page's cost.
    settings.SESSION_REFRESH_SECONDS = 24 * 3600


def grow(dispatcher, biller, make_user, parents: int, start: int):
    for n in range(start, start + parents):
        fill_parent(dispatcher, f"SB{n:05d}", 30, start=n * 100)
        bill_create(user=biller, bill_id=f"B-{n:05d}", capacity=1, destination="D", vehicle_number="V")
        bill_add_parent(user=biller, bill_id=f"B-{n:05d}", parent_qr=f"SB{n:05d}")
        make_user("biller")


def urls():
    bag = Bag.objects.get(qr_id="SB00001")
    changelists = [reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist") for m in admin.site._registry]
    return changelists + [
        reverse("admin:bags_bag_changelist") + "?q=SB0000",
        reverse("admin:bags_bag_changelist") + "?kind__exact=child&status__exact=completed",
        reverse("admin:scans_scan_changelist") + "?q=SB00001",
        reverse("admin:scans_scan_changelist") + "?timestamp__year=2026",
        reverse("admin:billing_bill_changelist") + "?q=B-0",
        reverse("admin:bags_bag_change", args=[bag.pk]),
        reverse("admin:billing_bill_change", args=[Bill.objects.get(bill_id="B-00001").pk]),
        reverse("admin:scans_scan_change", args=[Scan.objects.filter(bag=bag).first().pk]),
        reverse("admin:accounts_user_change", args=[User.objects.get(username="admin").pk]),
    ]


def test_admin_query_counts_do_not_grow(client, admin_user, dispatcher, biller, make_user):
    grow(dispatcher, biller, make_user, 1, start=1)  # 31 bags, 32 scans, a bill
    client.force_login(admin_user)

    def counts():
        result = {}
        for url in urls():
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url)
            assert response.status_code == 200, url
            result[url] = len(ctx.captured_queries)
        return result

    counts()  # warm the per-process caches (content types, permissions)
    small = counts()
    grow(dispatcher, biller, make_user, 33, start=2)  # 1,054 bags, ~1,090 scans, 34 bills
    assert Bag.objects.count() > 1000
    large = counts()
    assert large == small
    assert max(large.values()) <= 15, large


def bill_with_parents(biller, dispatcher, bill_id: str, parents: range) -> Bill:
    from scans.services import scan_parent

    bill_create(user=biller, bill_id=bill_id, capacity=max(len(parents), 1), destination="D", vehicle_number="V")
    for n in parents:
        scan_parent(user=dispatcher, qr_id=f"SB{n:05d}")
        bill_add_parent(user=biller, bill_id=bill_id, parent_qr=f"SB{n:05d}")
    return Bill.objects.get(bill_id=bill_id)


def test_bill_change_form_reads_its_parents_in_one_query(client, admin_user, dispatcher, biller):
    one = bill_with_parents(biller, dispatcher, "B-ONE", range(1, 2))
    fifty = bill_with_parents(biller, dispatcher, "B-FIFTY", range(100, 150))
    client.force_login(admin_user)

    def count(bill):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("admin:billing_bill_change", args=[bill.pk]))
        assert response.status_code == 200
        return len(ctx.captured_queries), response.content.decode()

    count(one)  # warm the session and the per-process caches
    small, _ = count(one)
    large, page = count(fifty)
    assert small == large, (small, large)
    assert "SB00100" in page and "SB00149" in page


def test_bill_place_search_resolves_each_code_through_its_own_index(client, admin_user, dispatcher, biller):
    bill_with_parents(biller, dispatcher, "B-ONE", range(1, 3))
    bill_with_parents(biller, dispatcher, "B-TWO", range(10, 11))
    client.force_login(admin_user)
    url = reverse("admin:billing_billbag_changelist")

    def search(term):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, {"q": term})
        assert response.status_code == 200
        return response.context["cl"], ctx.captured_queries

    search("B-ONE")  # warm the session and the per-process caches
    cl, queries = search(" b-one ")
    assert sorted(place.parent.qr_id for place in cl.result_list) == ["SB00001", "SB00002"]
    assert cl.result_count == 2
    cl, others = search("sb00010")
    assert [(place.bill.bill_id, place.parent.qr_id) for place in cl.result_list] == [("B-TWO", "SB00010")]
    assert len(others) == len(queries)
    # The bill places are filtered on their own key columns, never on a joined code.
    for query in queries:
        if 'FROM "billing_billbag"' in query["sql"]:
            where = query["sql"].split("WHERE", 1)[-1]
            assert '"bill_id" = ' not in where.replace('"billing_billbag"."bill_id" = "billing_bill"."id"', "")
            assert '"qr_id"' not in where, query["sql"]
    for term in ("B-NONE", "SB0000", "B-ON"):  # exact codes only, like the search help says
        cl, _ = search(term)
        assert cl.result_count == 0 and list(cl.result_list) == []


@pytest.mark.parametrize(("index", "field", "value", "expected"), [
    (0, "action", "bill.create", ["B-1", "B-2"]),
    (1, "entity_type", "bill", ["B-1", "B-2"]),
])
def test_audit_log_filters_list_each_value_once(client, admin_user, biller, index, field, value, expected):
    """The action and entity-type filters list the values present (read by index probes,
    not a DISTINCT over the log), each once, and filter by them."""
    bill_create(user=biller, bill_id="B-1", capacity=1, destination="D", vehicle_number="V")
    bill_create(user=biller, bill_id="B-2", capacity=1, destination="D", vehicle_number="V")
    client.force_login(admin_user)
    url = reverse("admin:accounts_auditlog_changelist")
    response = client.get(url)
    assert response.status_code == 200
    spec = response.context["cl"].filter_specs[index]
    choices = [c["display"] for c in spec.choices(response.context["cl"])]
    from accounts.models import AuditLog

    present = sorted(set(AuditLog.objects.values_list(field, flat=True)))
    assert len(present) > 1 and choices == ["All", *present]
    assert choices.count(value) == 1
    filtered = client.get(url, {f"{field}__exact": value}).context["cl"]
    assert sorted(entry.entity_id for entry in filtered.result_list) == expected
    assert not any("DISTINCT" in q["sql"] for q in _changelist_queries(client, url))


def _changelist_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return ctx.captured_queries
