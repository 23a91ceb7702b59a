"""`manage.py seed_bags`: the data set it loads must be as consistent as the one the services
build, whichever database it runs on, and a second run must add to the first."""

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db.models import Case, Count, F, Max, Min, Value, When

from accounts.models import DispatchArea, Role, User
from bags.models import Bag, BagKind, BagStatus, Link
from billing.models import Bill, BillBag, BillStatus
from demo.management.commands import seed_bags
from scans.models import Scan, ScanKind
from scans.services import scan_child, scan_parent

pytestmark = pytest.mark.django_db


def seed(bags: int, **options) -> str:
    out = StringIO()
    call_command("seed_bags", bags=bags, no_progress=True, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def assert_consistent() -> None:
    """Every invariant of DESIGN.md that the seed touches, each as one aggregate query."""
    parents = Bag.objects.filter(kind=BagKind.PARENT)
    children = Bag.objects.filter(kind=BagKind.CHILD)

    assert parents.annotate(links=Count("child_links")).exclude(child_count=F("links")).count() == 0
    expected_status = Case(
        When(child_count=0, then=Value(BagStatus.PENDING)),
        When(child_count__gte=settings.PARENT_CAPACITY, then=Value(BagStatus.COMPLETED)),
        default=Value(BagStatus.IN_PROGRESS),
    )
    assert parents.exclude(status=expected_status).count() == 0
    assert parents.filter(child_count__gt=settings.PARENT_CAPACITY).count() == 0

    assert children.exclude(status=BagStatus.COMPLETED).count() == 0
    assert children.filter(parent_link__isnull=True).count() == 0
    assert children.exclude(child_count=0).count() == 0
    assert Link.objects.exclude(parent__kind=BagKind.PARENT).count() == 0
    assert Link.objects.exclude(child__kind=BagKind.CHILD).count() == 0
    assert Bag.objects.filter(dispatch_area__isnull=True).count() == 0
    assert Link.objects.exclude(child__dispatch_area=F("parent__dispatch_area")).count() == 0

    assert Bill.objects.annotate(places=Count("bill_bags")).exclude(parent_count=F("places")).count() == 0
    assert Bill.objects.filter(parent_count__gt=F("capacity")).count() == 0
    assert Bill.objects.filter(status=BillStatus.COMPLETED, completed_at__isnull=True).count() == 0
    assert Bill.objects.exclude(status=BillStatus.COMPLETED).filter(completed_at__isnull=False).count() == 0
    assert BillBag.objects.exclude(parent__kind=BagKind.PARENT).count() == 0

    ratio = Scan.objects.count() / Bag.objects.count()
    assert 1.5 <= ratio <= 2.5
    linking = Scan.objects.filter(kind=ScanKind.CHILD, undone_at__isnull=True)
    assert linking.count() == Link.objects.count()
    assert linking.exclude(bag__parent_link__parent=F("parent")).count() == 0
    assert Scan.objects.filter(kind=ScanKind.CHILD, undone_at__lt=F("timestamp")).count() == 0
    # A seeded bag's first surviving scan is the one that made it (the services stamp the
    # bag and its scan a few microseconds apart).
    seeded = Bag.objects.filter(created_by__username__startswith="seed_")
    assert seeded.annotate(first=Min("scans__timestamp")).exclude(created_at=F("first")).count() == 0

    # On PostgreSQL the seed skips the foreign-key triggers: check the references here.
    bag_ids = Bag.objects.values("pk")
    assert Link.objects.exclude(parent_id__in=bag_ids, child_id__in=bag_ids).count() == 0
    assert Scan.objects.exclude(bag_id=None).exclude(bag_id__in=bag_ids).count() == 0
    assert Scan.objects.exclude(parent_id=None).exclude(parent_id__in=bag_ids).count() == 0
    assert BillBag.objects.exclude(parent_id__in=bag_ids, bill_id__in=Bill.objects.values("pk")).count() == 0
    assert Link.objects.count() == children.count()

    assert parents.exclude(qr_id__regex=settings.PARENT_QR_PATTERN).count() == 0
    assert children.exclude(qr_id__regex=settings.CHILD_QR_PATTERN).count() == 0
    assert children.filter(qr_id__regex=settings.PARENT_QR_PATTERN).count() == 0
    assert Bill.objects.exclude(bill_id__regex=settings.BILL_ID_PATTERN).count() == 0


def test_two_runs_build_one_consistent_data_set():
    first = seed(500)
    assert "Seeded 500 bags" in first and "bags/s" in first
    assert Bag.objects.count() == 500
    assert_consistent()

    seed(300, seed=2)
    assert Bag.objects.count() == 800
    assert_consistent()

    # No code, scan id, bill id or seed user is made twice.
    assert Bag.objects.values("qr_id").distinct().count() == 800
    assert Scan.objects.values("scan_id").distinct().count() == Scan.objects.count()
    assert Bill.objects.values("bill_id").distinct().count() == Bill.objects.count()
    assert User.objects.filter(username__startswith="seed_").count() == DispatchArea.objects.count() + 1
    # Child codes run on from the first run's: C0000000001 … without gaps.
    children = Bag.objects.filter(kind=BagKind.CHILD)
    assert children.aggregate(top=Max("qr_id"))["top"] == f"C{children.count():010d}"


def test_larger_run_has_partly_full_parents_open_and_completed_bills_and_unbilled_parents(monkeypatch):
    # Small batches: bills then take parents from earlier batches, and on PostgreSQL the
    # next batch is built while the current one is written.
    monkeypatch.setattr(seed_bags, "COPY_BATCH_BAGS", 1000)
    monkeypatch.setattr(seed_bags, "BULK_CREATE_BATCH_BAGS", 1000)
    seed(7000)
    assert Bag.objects.count() == 7000
    assert_consistent()
    parents = Bag.objects.filter(kind=BagKind.PARENT)
    assert parents.filter(status=BagStatus.IN_PROGRESS).exists()
    assert parents.filter(status=BagStatus.COMPLETED, bill_link__isnull=True).exists()
    assert Bill.objects.filter(status=BillStatus.COMPLETED).exists()
    assert Bill.objects.filter(status=BillStatus.IN_PROGRESS).exists()
    assert Bill.objects.exclude(created_by__username="seed_biller").count() == 0
    assert Bill.objects.filter(status=BillStatus.COMPLETED).exclude(completed_by__username="seed_biller").count() == 0
    dispatchers = User.objects.filter(username__startswith="seed_", role=Role.DISPATCHER)
    assert dispatchers.count() == DispatchArea.objects.count()
    assert Bag.objects.exclude(created_by__dispatch_area=F("dispatch_area")).count() == 0


def test_codes_already_in_use_are_skipped(dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    scan_child(user=dispatcher, parent_qr="SB00001", qr_id="C0000000005")
    seed(100)
    assert Bag.objects.count() == 102
    assert Bag.objects.filter(qr_id="SB00002", kind=BagKind.PARENT).exists()
    assert not Bag.objects.filter(
        qr_id__in=["C0000000001", "C0000000005"], created_by__username__startswith="seed_"
    ).exists()
    assert Bag.objects.filter(qr_id="C0000000006", created_by__username__startswith="seed_").exists()
    assert_consistent()


def test_at_least_one_bag_is_required():
    with pytest.raises(CommandError):
        seed(0)
    assert Bag.objects.count() == 0


@pytest.mark.django_db
def test_seeding_leaves_the_dashboard_counters_exact():
    from stats.recount import drift

    call_command("seed_bags", bags=400, no_progress=True, stdout=StringIO())
    assert drift() == {}
