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
