"""The counters stay exact (compared with a fresh recount) whatever changes the data."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from bags.services import bag_create, bag_delete
from billing.services import bill_add_parent, bill_complete, bill_create, bill_delete, bill_remove_parent, bill_reopen
from reports.selectors import stats_for
from scans.models import Scan
from scans.services import scan_child, scan_parent, undo_last_scan
from stats.models import Counter
from stats.recount import drift
from stats.selectors import counter_totals, scan_figures
from tests.concurrency import race
from tests.helpers import child_code, fill_parent


def everything_happens(dispatcher, other_dispatcher, biller, admin_user):
    fill_parent(dispatcher, "SB00001", 30)
    fill_parent(dispatcher, "SB00002", 12, start=100)
    fill_parent(other_dispatcher, "SB00003", 5, start=200)
    bag_create(user=biller, qr_id="LOOSE01", kind="child", dispatch_area="indore")
    scan_child(user=dispatcher, parent_qr="SB00002", qr_id="LOOSE01")  # a pending child of another area
    bag_create(user=biller, qr_id="LOOSE02", kind="child")
    bag_create(user=biller, qr_id="SB00009", kind="parent", dispatch_area="lucknow")
    undo_last_scan(user=dispatcher, parent_qr="SB00002")  # LOOSE01 back to pending
    undo_last_scan(user=dispatcher, parent_qr="SB00002")  # a created child deleted
    scan_child(user=dispatcher, parent_qr="SB00001", qr_id=child_code(0))  # duplicate: no change
    bill_create(user=biller, bill_id="BILL-1", capacity=2, destination="D", vehicle_number="V")
    bill_create(user=biller, bill_id="BILL-2", capacity=1, destination="D", vehicle_number="V")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00002")
    bill_complete(user=biller, bill_id="BILL-1")
    bill_reopen(user=biller, bill_id="BILL-1")
    bill_remove_parent(user=biller, bill_id="BILL-1", parent_qr="SB00002")
    bill_add_parent(user=biller, bill_id="BILL-2", parent_qr="SB00002")
    bag_delete(user=admin_user, qr_id=child_code(3))  # a child of a full parent
    bag_delete(user=admin_user, qr_id="SB00002")  # a parent on a bill, with children
    bag_delete(user=admin_user, qr_id="LOOSE02")  # a pending child
    bill_delete(user=admin_user, bill_id="BILL-1")


@pytest.mark.django_db
def test_counters_match_a_recount_after_every_kind_of_change(dispatcher, other_dispatcher, biller, admin_user):
    everything_happens(dispatcher, other_dispatcher, biller, admin_user)
    assert drift() == {}
    totals = counter_totals()
    assert totals["parents"] == 3 and totals["bills_in_progress"] == 0 and totals["bills_new"] == 1
    lucknow = counter_totals(area_id=dispatcher.dispatch_area_id)
    assert lucknow["completed_parents"] == 0 and lucknow["parents"] == 2  # SB00001 lost a child


@pytest.mark.django_db
def test_recount_command_reports_and_repairs_drift(dispatcher, capsys):
    fill_parent(dispatcher, "SB00001", 3)
    call_command("recount_stats")
    assert "exact" in capsys.readouterr().out
    row = Counter.objects.filter(metric="children").first()
    row.value += 996
    row.save()
    with pytest.raises(SystemExit):
        call_command("recount_stats")
    assert "children: stored 999, counted 3" in capsys.readouterr().out
    call_command("recount_stats", "--repair")
    assert drift() == {} and counter_totals()["children"] == 3


@pytest.mark.django_db
def test_scans_today_and_last_hour_are_exact(dispatcher):
    start = timezone.now().replace(second=20)
    with time_machine.travel(start - timedelta(minutes=90), tick=False):
        fill_parent(dispatcher, "SB00001", 2)  # 3 scans, 90 minutes ago
    with time_machine.travel(start - timedelta(minutes=59, seconds=50), tick=False):
        scan_child(user=dispatcher, parent_qr="SB00001", qr_id="CH100000")  # just inside the hour
    with time_machine.travel(start - timedelta(minutes=60, seconds=10), tick=False):
        scan_child(user=dispatcher, parent_qr="SB00001", qr_id="CH100001")  # just outside
    with time_machine.travel(start, tick=False):
        scan_child(user=dispatcher, parent_qr="SB00001", qr_id="CH100002")
        figures = scan_figures()
        now = timezone.now()
        expected_hour = Scan.objects.filter(timestamp__gte=now - timedelta(hours=1)).count()
        from stats.services import day_start

        expected_today = Scan.objects.filter(timestamp__gte=day_start(now)).count()
    assert figures == {"today": expected_today, "last_hour": expected_hour} and expected_hour == 2


@pytest.mark.django_db
def test_dispatcher_sees_own_area_only(dispatcher, other_dispatcher):
    fill_parent(dispatcher, "SB00001", 2)
    fill_parent(other_dispatcher, "SB00002", 3, start=10)
    stats = stats_for(dispatcher)
    assert stats["bags"]["children"] == 2 and stats["bills"] is None and stats["scans"]["today"] == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_counters_stay_exact_under_concurrency(dispatcher, make_user, biller, admin_user):
    operators = [make_user("dispatcher") for _ in range(4)]
    for p in range(4):
        scan_parent(user=dispatcher, qr_id=f"SB{p:05d}")
    bill_create(user=biller, bill_id="BILL-1", capacity=3, destination="D", vehicle_number="V")

    def work(i):
        user = operators[i % 4]
        if i % 7 == 3:
            return undo_last_scan(user=user, parent_qr=f"SB{i % 4:05d}")
        if i % 11 == 5:
            return bill_add_parent(user=biller, bill_id="BILL-1", parent_qr=f"SB{i % 4:05d}")
        return scan_child(user=user, parent_qr=f"SB{i % 4:05d}", qr_id=child_code(i))

    race(60, work)
    assert drift() == {}


@pytest.mark.django_db
def test_batched_counters_are_written_once_and_exact(dispatcher):
    from django.db import transaction

    from stats.services import batched_counters

    with transaction.atomic(), batched_counters():
        fill_parent(dispatcher, "SB00001", 5)
        assert not Counter.objects.exists()  # gathered, not yet written
    assert drift() == {} and counter_totals()["children"] == 5
    assert stats_for(dispatcher)["scans"]["today"] == 6
