"""manage.py seed_demo: a small warehouse to click through, safe to run again."""

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import DispatchArea, Role, User
from accounts.services import user_create, user_update
from billing.models import Bill
from billing.services import bill_add_parent, bill_complete, bill_create
from scans.services import scan_child, scan_parent
from stats.services import batched_counters

DEMO_USERS = [
    # username, role, area, password (printed: these are demo logins, not secrets)
    ("admin", Role.ADMIN, None, "TraceTrack-admin-2026"),
    ("biller", Role.BILLER, None, "TraceTrack-biller-2026"),
    ("dispatcher", Role.DISPATCHER, "lucknow", "TraceTrack-scan-2026"),
    ("dispatcher_indore", Role.DISPATCHER, "indore", "TraceTrack-scan-2026"),
]
# (parent code, dispatcher, children) — full, part-filled and empty parents.
DEMO_PARENTS = [
    ("SB00001", "dispatcher", 30),
    ("SB00002", "dispatcher", 30),
    ("SB00003", "dispatcher", 30),
    ("SB00004", "dispatcher", 30),
    ("SB00005", "dispatcher", 30),
    ("SB00006", "dispatcher", 18),
    ("SB00007", "dispatcher", 4),
    ("SB00008", "dispatcher", 0),
    ("M444-00001", "dispatcher_indore", 30),
    ("M444-00002", "dispatcher_indore", 30),
    ("M444-00003", "dispatcher_indore", 12),
]
MARKER_BILL = "DEMO-001"


class Command(BaseCommand):
    help = "Create demo users (printing their logins), a few hundred bags, links and bills. Safe to run twice."

    def handle(self, *args, **options):
        DispatchArea.objects.get_or_create(code="lucknow", defaults={"name": "Lucknow"})
        DispatchArea.objects.get_or_create(code="indore", defaults={"name": "Indore"})
        users = {}
        for username, role, area, password in DEMO_USERS:
            existing = User.objects.filter(username=username).first()
            if existing is None:
                users[username] = user_create(
                    actor=None, username=username, password=password, role=role, dispatch_area=area
                )
            else:  # run again: keep the account, make the printed password true again
                users[username] = user_update(actor=None, target=existing, password=password, is_active=True)

        if Bill.objects.filter(bill_id=MARKER_BILL).exists():
            self.stdout.write("Demo bags and bills are already there; left as they are.")
        else:
            self._seed_bags_and_bills(users)

        self.stdout.write(self.style.SUCCESS("\nDemo logins (pages at /login/, back office at /admin/ for admin and biller):"))
        for username, role, area, password in DEMO_USERS:
            where = f" ({area})" if area else ""
            self.stdout.write(f"  {role:<10} {username:<18} {password}{where}")

    @transaction.atomic
    def _seed_bags_and_bills(self, users):
        with batched_counters():
            self._scan_and_bill(users)

    def _scan_and_bill(self, users):
        child_number = 0
        for parent_code, username, children in DEMO_PARENTS:
            operator = users[username]
            scan_parent(user=operator, qr_id=parent_code)
            for _ in range(children):
                child_number += 1
                scan_child(user=operator, parent_qr=parent_code, qr_id=f"CB{child_number:05d}")
        biller = users["biller"]
        bill_create(user=biller, bill_id=MARKER_BILL, capacity=2, destination="Delhi", vehicle_number="DL01AB1234",
                    description="Demo: a completed truck load")
        for parent_code in ("SB00001", "SB00002"):
            bill_add_parent(user=biller, bill_id=MARKER_BILL, parent_qr=parent_code)
        bill_complete(user=biller, bill_id=MARKER_BILL)
        bill_create(user=biller, bill_id="DEMO-002", capacity=4, destination="Kanpur", vehicle_number="UP32CD5678")
        for parent_code in ("SB00003", "SB00004", "M444-00001"):
            bill_add_parent(user=biller, bill_id="DEMO-002", parent_qr=parent_code)
        bill_create(user=biller, bill_id="DEMO-003", capacity=10, destination="Jaipur", vehicle_number="RJ14EF9012")
        self.stdout.write(f"Created {len(DEMO_PARENTS)} parents, {child_number} children and 3 bills.")
