"""`manage.py seed_bags --bags N`: bulk-load a large, fully consistent data set for scale work.

The data set looks like the result of ~60 days of normal operation:

- Exactly N bags. About one bag in 31 is a parent (codes SB00001…SB99999, then
  M444-00001…M444-99999, skipping codes already in use); the rest are children
  ('C' + 10 digits, numbered on from the highest such code already stored). Most parents
  hold PARENT_CAPACITY children (`completed`); ~3% are partly filled (`in_progress`), ~0.5%
  are empty (`pending`), and the last parent takes whatever bags are left. Every child is
  linked to a parent (`completed`) and sits in its parent's area.
- Parents are spread round-robin over the existing dispatch areas and made by a dispatcher
  of that area (`seed_<area code>`, created when missing); bills by `seed_biller`.
- Two scans per bag, as the scan services write them: per parent the first scan and a
  "resumed" scan halfway through its children; per child a first child scan that was undone
  a few seconds later (so its bag was deleted and `bag` is NULL), then the scan that
  created the bag again and linked it. Times rise within a parent, and a bag's
  `created_at` is its first (surviving) scan.
- One bill (`SEED-000001`, …) per 100 full parents, oldest first; capacity = its parents,
  the newest ~10% still `in_progress`, the rest `completed`. The newest parents (up to 300)
  are on no bill, as on a working day.

On PostgreSQL rows go in with binary COPY, batch by batch (one transaction each), with
ids taken from the tables' sequences so that links, scans and bill places can point at
bags without reading them back; a thread builds the next batch while one is written, and
the foreign-key triggers are skipped when the role may do so (the rows are built
consistent; tests/bags/test_seed_bags.py checks every reference). The tables are ANALYZEd
at the end. Other databases use bulk_create (slower, for tests with a small N).
"""

import random
import sys
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from tqdm import tqdm

from accounts.models import DispatchArea, Role, User
from accounts.services import user_create
from bags.codes import is_child_code, is_parent_code
from bags.models import Bag, BagKind, BagStatus, Link
from bags.services import parent_status
from billing.models import Bill, BillBag, BillStatus
from scans.models import Scan, ScanKind
from stats.recount import repair as repair_counters

HISTORY = timedelta(days=60)
# The newest parent starts this long before "now", so that all its scans lie in the past.
QUIET_END = timedelta(hours=1)
# Bags per transaction. bulk_create is ~10x slower than COPY: smaller batches there keep
# the progress bar moving.
COPY_BATCH_BAGS = 50_000
BULK_CREATE_BATCH_BAGS = 10_000
EMPTY_SHARE = 0.005
PARTIAL_SHARE = 0.03
BILL_SIZE = 100
UNBILLED_TAIL = 300
IN_PROGRESS_BILL_SHARE = 0.10
BILL_PREFIX = "SEED-"
CHILD_PREFIX = "C"
CHILD_DIGITS = 10

DESTINATIONS = ["Delhi", "Mumbai", "Kolkata", "Chennai", "Ahmedabad", "Pune", "Hyderabad", "Kanpur", "Nagpur", "Surat"]
PLATE_STATES = ["RJ", "UP", "MP", "PB", "HR", "CG", "JH", "MH", "DL", "GJ"]

PARENT = BagKind.PARENT.value
CHILD = BagKind.CHILD.value
COMPLETED = BagStatus.COMPLETED.value
SCAN_PARENT = ScanKind.PARENT.value
SCAN_CHILD = ScanKind.CHILD.value

# Column → type, in the order of the rows built below. The names are the models' attnames,
# which are also the database columns, so COPY and bulk_create share them; binary COPY
# needs the types.
BAG_COLUMNS = {
    "id": "int8",
    "qr_id": "varchar",
    "kind": "varchar",
    "status": "varchar",
    "child_count": "int2",
    "dispatch_area_id": "int8",
    "created_by_id": "int8",
    "created_at": "timestamptz",
    "updated_at": "timestamptz",
}
LINK_COLUMNS = {"parent_id": "int8", "child_id": "int8", "created_at": "timestamptz"}
SCAN_COLUMNS = {
    "scan_id": "uuid",
    "kind": "varchar",
    "bag_id": "int8",
    "qr_id": "varchar",
    "parent_id": "int8",
    "parent_qr": "varchar",
    "user_id": "int8",
    "dispatch_area_id": "int8",
    "timestamp": "timestamptz",
    "undone_at": "timestamptz",
    "created_bag": "bool",
}
BILL_COLUMNS = {
    "id": "int8",
    "bill_id": "varchar",
    "destination": "varchar",
    "vehicle_number": "varchar",
    "description": "text",
    "capacity": "int2",
    "parent_count": "int2",
    "status": "varchar",
    "created_by_id": "int8",
    "created_at": "timestamptz",
    "updated_at": "timestamptz",
    "completed_at": "timestamptz",
    "completed_by_id": "int8",
}
BILLBAG_COLUMNS = {"bill_id": "int8", "parent_id": "int8", "added_by_id": "int8", "created_at": "timestamptz"}


def parent_codes(taken: set[str]):
    """Free parent codes in order: SB00001…SB99999, then M444-00001…M444-99999."""
    for prefix in ("SB", "M444-"):
        for number in range(1, 100_000):
            code = f"{prefix}{number:05d}"
            if code not in taken:
                yield code


def highest_child_number() -> int:
    """The number of the highest 'C' + 10-digit code stored, 0 when there is none. The range
    filter lets PostgreSQL walk the unique index backwards and stop at the first match."""
    low, high = CHILD_PREFIX + "0" * CHILD_DIGITS, CHILD_PREFIX + "9" * CHILD_DIGITS
    code = (
        Bag.objects.filter(qr_id__gte=low, qr_id__lte=high, qr_id__regex=rf"^{CHILD_PREFIX}[0-9]{{{CHILD_DIGITS}}}$")
        .order_by("-qr_id")
        .values_list("qr_id", flat=True)
        .first()
    )
    return int(code[len(CHILD_PREFIX) :]) if code else 0


@dataclass(frozen=True)
class Batch:
    parents: range
    bag_count: int
    closing_bills: list[int]  # bills whose newest parent is in this batch


@dataclass
class Plan:
    """Everything decided before the first row is written, so that the total is exact and
    running out of parent codes is found before anything is stored."""

    children: list[int]  # per parent, in creation order
    codes: list[str]
    bills: list[list[int]]  # parent indexes per bill, oldest bill first
    bill_ids: list[str]
    in_progress_from: int  # bills from this index on stay open
    bills_closing_at: dict[int, list[int]] = field(default_factory=dict)  # last parent → bills

    @property
    def parents(self) -> int:
        return len(self.children)

    def batches(self, size: int) -> list[Batch]:
        """Consecutive parent ranges of at most `size` bags (at least one parent each)."""
        batches: list[Batch] = []
        start, bags = 0, 0
        for index, count in enumerate(self.children):
            if bags and bags + 1 + count > size:
                batches.append(self._batch(start, index, bags))
                start, bags = index, 0
            bags += 1 + count
        batches.append(self._batch(start, len(self.children), bags))
        return batches

    def _batch(self, start: int, stop: int, bags: int) -> Batch:
        parents = range(start, stop)
        closing = [bill for parent in parents for bill in self.bills_closing_at.get(parent, [])]
        return Batch(parents=parents, bag_count=bags, closing_bills=closing)


def make_plan(*, bags: int, capacity: int, rng: random.Random) -> Plan:
    """Children per parent, parent codes, bills and their ids, for exactly `bags` bags."""
    children: list[int] = []
    left = bags
    while left > 0:
        roll = rng.random()
        if roll < EMPTY_SHARE:
            wanted = 0
        elif roll < EMPTY_SHARE + PARTIAL_SHARE and capacity > 1:
            wanted = rng.randint(1, capacity - 1)
        else:
            wanted = capacity
        count = min(wanted, left - 1)
        children.append(count)
        left -= 1 + count

    taken = set(
        Bag.objects.filter(Q(qr_id__startswith="SB") | Q(qr_id__startswith="M444-")).values_list("qr_id", flat=True)
    )
    free = parent_codes(taken)
    codes = [code for code, _ in zip(free, children, strict=False)]  # stops early when codes run out
    if len(codes) < len(children):
        raise CommandError(
            f"{bags} bags need {len(children)} parent codes, but only {len(codes)} SB/M444 codes are free."
        )

    # Only full parents go on bills: a truck is loaded with finished sacks. The newest
    # parents wait for tomorrow's trucks (a tenth of them in a small data set).
    unbilled = min(UNBILLED_TAIL, len(children) // 10)
    billable = [index for index, count in enumerate(children[: len(children) - unbilled]) if count == capacity]
    bills = [billable[i : i + BILL_SIZE] for i in range(0, len(billable), BILL_SIZE)]
    open_bills = max(1, round(len(bills) * IN_PROGRESS_BILL_SHARE)) if len(bills) > 1 else 0

    taken_bill_ids = set(Bill.objects.filter(bill_id__startswith=BILL_PREFIX).values_list("bill_id", flat=True))
    bill_ids: list[str] = []
    number = 0
    while len(bill_ids) < len(bills):
        number += 1
        bill_id = f"{BILL_PREFIX}{number:06d}"
        if bill_id not in taken_bill_ids:
            bill_ids.append(bill_id)

    plan = Plan(
        children=children, codes=codes, bills=bills, bill_ids=bill_ids, in_progress_from=len(bills) - open_bills
    )
    for bill_index, members in enumerate(bills):
        plan.bills_closing_at.setdefault(members[-1], []).append(bill_index)
    return plan


class CopyWriter:
    """PostgreSQL: ids from the sequences, rows through binary COPY."""

    def begin_batch(self) -> None:
        """Tune the batch's transaction. A crash may lose the last batches but never half
        of one, so the commit need not wait for the WAL flush. The foreign keys are
        skipped when the role may (superusers): every row points at bags built in the same
        batch or before it, or at the areas and users read at the start, and their
        deferred checks at commit would otherwise cost as much as the COPY itself."""
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
            try:
                with transaction.atomic():
                    cursor.execute("SET LOCAL session_replication_role = replica")
            except DatabaseError:
                pass  # not permitted: the checks run at commit, slower but the same result

    def reserve_ids(self, model, count: int) -> list[int]:
        if not count:
            return []
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [model._meta.db_table, count],
            )
            return [row[0] for row in cursor.fetchall()]

    def write(self, model, columns: dict[str, str], rows: list[tuple]) -> None:
        if not rows:
            return
        quote = connection.ops.quote_name
        sql = f"COPY {quote(model._meta.db_table)} ({', '.join(map(quote, columns))}) FROM STDIN (FORMAT BINARY)"
        with connection.cursor() as cursor, cursor.copy(sql) as copy:
            copy.set_types(list(columns.values()))
            for row in rows:
                copy.write_row(row)

    def finish(self) -> None:
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in (Bag, Link, Scan, Bill, BillBag))
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {tables}")


class BulkCreateWriter:
    """Any other database. Ids continue from the highest stored one: the batch's
    transaction holds the write lock (SQLite), so nobody takes them meanwhile. bulk_create
    sets `updated_at` (auto_now) to the present."""

    def reserve_ids(self, model, count: int) -> list[int]:
        start = (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
        return list(range(start, start + count))

    def write(self, model, columns: dict[str, str], rows: list[tuple]) -> None:
        model.objects.bulk_create([model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=2000)

    def finish(self) -> None:
        pass


@dataclass
class Rows:
    """One batch's rows, per table, in the column order above."""

    bags: list = field(default_factory=list)
    links: list = field(default_factory=list)
    scans: list = field(default_factory=list)
    bills: list = field(default_factory=list)
    bill_bags: list = field(default_factory=list)
    parents: int = 0

    def write(self, writer) -> None:
        # Referenced rows first, for databases that check foreign keys row by row.
        writer.write(Bag, BAG_COLUMNS, self.bags)
        writer.write(Link, LINK_COLUMNS, self.links)
        writer.write(Scan, SCAN_COLUMNS, self.scans)
        writer.write(Bill, BILL_COLUMNS, self.bills)
        writer.write(BillBag, BILLBAG_COLUMNS, self.bill_bags)
        # The parents of completed bills are frozen (bags.Bag.frozen, DESIGN.md rule 6).
        completed = {bill[0] for bill in self.bills if bill[7] == BillStatus.COMPLETED.value}
        frozen = [place[1] for place in self.bill_bags if place[0] in completed]
        for start in range(0, len(frozen), 5000):
            Bag.objects.filter(pk__in=frozen[start:start + 5000]).update(frozen=True)


@dataclass
class Totals:
    bags: int = 0
    parents: int = 0
    links: int = 0
    scans: int = 0
    bills: int = 0
    bill_bags: int = 0

    def add(self, rows: Rows) -> None:
        self.bags += len(rows.bags)
        self.parents += rows.parents
        self.links += len(rows.links)
        self.scans += len(rows.scans)
        self.bills += len(rows.bills)
        self.bill_bags += len(rows.bill_bags)


class Seeder:
    """Turns the plan into rows, batch by batch, without touching the database (so that
    it can build the next batch in a thread while the current one is written). Batches
    must be built in order: parent ids and finishing times outlive their batch, because a
    bill is written with the batch of its newest parent."""

    def __init__(self, *, plan: Plan, rng: random.Random, areas, dispatchers, biller, first_child: int, now: datetime):
        self.plan, self.rng = plan, rng
        self.areas, self.dispatchers, self.biller = areas, dispatchers, biller
        self.now = now
        self.start = now - HISTORY
        self.spacing = (HISTORY - QUIET_END).total_seconds() / max(1, plan.parents)
        self.next_child = first_child
        self.parent_ids: list[int] = [0] * plan.parents
        self.parent_done: list[datetime] = [now] * plan.parents

    def build(self, batch: Batch, bag_ids: list[int], bill_ids: list[int]) -> Rows:
        rows = Rows(parents=len(batch.parents))
        free_ids = iter(bag_ids)
        for index in batch.parents:
            self._parent_rows(index, free_ids, rows.bags, rows.links, rows.scans)
        self._bill_rows(batch.closing_bills, bill_ids, rows.bills, rows.bill_bags)
        return rows

    def _parent_rows(self, index: int, bag_ids, bags: list, links: list, scans: list) -> None:
        rng, second = self.rng, timedelta(seconds=1)
        area_index = index % len(self.areas)
        area_id = self.areas[area_index].pk
        user_id = self.dispatchers[area_index].pk
        count = self.plan.children[index]
        code = self.plan.codes[index]
        parent_id = next(bag_ids)
        self.parent_ids[index] = parent_id

        # Parents start evenly over the period, so ids and times rise together as in a
        # real table; the jitter stays below half a gap to keep that order.
        created = self.start + (index + rng.random() * 0.5) * self.spacing * second
        # scan_id comes from os.urandom, not the seeded rng: a second run with the same
        # seed must not repeat the first run's ids.
        scans.append((uuid.uuid4(), SCAN_PARENT, parent_id, code, None, "", user_id, area_id, created, None, False))
        moment = created
        child_rows = []
        for position in range(count):
            if position == count // 2:
                moment = self._resumed_scan(moment, parent_id, code, user_id, area_id, scans)
            child_id = next(bag_ids)
            child_code = f"{CHILD_PREFIX}{self.next_child:0{CHILD_DIGITS}d}"
            self.next_child += 1
            # A mis-scan undone within seconds: the undo deleted the bag it had made.
            mistaken = moment + rng.uniform(5, 25) * second
            undone = mistaken + rng.uniform(2, 6) * second
            moment = undone + rng.uniform(1, 4) * second
            scans.append(
                (uuid.uuid4(), SCAN_CHILD, None, child_code, parent_id, code, user_id, area_id, mistaken, undone, True)
            )
            scans.append(
                (uuid.uuid4(), SCAN_CHILD, child_id, child_code, parent_id, code, user_id, area_id, moment, None, True)
            )
            child_rows.append((child_id, child_code, CHILD, COMPLETED, 0, area_id, user_id, moment, moment))
            links.append((parent_id, child_id, moment))
        finished = self._resumed_scan(moment, parent_id, code, user_id, area_id, scans) if count == 0 else moment
        # `moment` is the last link: a parent row changes with its links, not with parent scans.
        bags.append((parent_id, code, PARENT, str(parent_status(count)), count, area_id, user_id, created, moment))
        bags.extend(child_rows)
        self.parent_done[index] = finished

    def _resumed_scan(self, moment, parent_id, code, user_id, area_id, scans) -> datetime:
        moment = moment + timedelta(seconds=self.rng.uniform(30, 600))
        scans.append((uuid.uuid4(), SCAN_PARENT, parent_id, code, None, "", user_id, area_id, moment, None, False))
        return moment

    def _bill_rows(self, closing: list[int], bill_ids: list[int], bills: list, bill_bags: list) -> None:
        rng, now, biller_id = self.rng, self.now, self.biller.pk
        for bill_index, pk in zip(closing, bill_ids, strict=True):
            members = self.plan.bills[bill_index]
            created = min(now, self.parent_done[members[0]] + timedelta(seconds=rng.uniform(60, 600)))
            moment = created
            for member in members:
                moment = min(now, max(moment, self.parent_done[member]) + timedelta(seconds=rng.uniform(20, 120)))
                bill_bags.append((pk, self.parent_ids[member], biller_id, moment))
            if bill_index < self.plan.in_progress_from:
                status = BillStatus.COMPLETED.value
                completed_at = min(now, moment + timedelta(seconds=rng.uniform(300, 1800)))
                completed_by = biller_id
            else:
                status, completed_at, completed_by = BillStatus.IN_PROGRESS.value, None, None
            plate = (
                f"{rng.choice(PLATE_STATES)}{rng.randint(1, 99):02d}G{rng.choice('ABCDEFGH')}{rng.randint(1, 9999):04d}"
            )
            bills.append(
                (
                    pk,
                    self.plan.bill_ids[bill_index],
                    rng.choice(DESTINATIONS),
                    plate,
                    "Seeded load",
                    len(members),
                    len(members),
                    status,
                    biller_id,
                    created,
                    completed_at or moment,
                    completed_at,
                    completed_by,
                )
            )


class Command(BaseCommand):
    help = "Bulk-load N consistent bags (parents, children, links, scans, bills) for scale work."

    def add_arguments(self, parser):
        parser.add_argument("--bags", type=int, required=True, help="Number of bags to create, parents and children.")
        parser.add_argument("--seed", type=int, default=1, help="Random seed for the data shape (default 1).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, bags: int, seed: int, no_progress: bool, **options):
        if bags < 1:
            raise CommandError("--bags must be at least 1.")
        started = time.monotonic()
        rng = random.Random(seed)
        areas = list(DispatchArea.objects.order_by("pk"))
        if not areas:
            raise CommandError("No dispatch areas: run migrate first.")
        dispatchers = [self._user(f"seed_{area.code}", Role.DISPATCHER, area) for area in areas]
        biller = self._user("seed_biller", Role.BILLER, None)

        capacity = settings.PARENT_CAPACITY
        plan = make_plan(bags=bags, capacity=capacity, rng=rng)
        sample_child = f"{CHILD_PREFIX}{1:0{CHILD_DIGITS}d}"
        if not (is_parent_code(plan.codes[0]) and is_child_code(sample_child)):
            raise CommandError("PARENT_QR_PATTERN / CHILD_QR_PATTERN do not accept the seeded code shapes.")

        postgres = connection.vendor == "postgresql"
        writer = CopyWriter() if postgres else BulkCreateWriter()
        seeder = Seeder(
            plan=plan,
            rng=rng,
            areas=areas,
            dispatchers=dispatchers,
            biller=biller,
            first_child=highest_child_number() + 1,
            now=timezone.now(),
        )
        totals = Totals()
        hide = no_progress or not sys.stderr.isatty()
        with tqdm(total=bags, unit="bag", unit_scale=True, file=sys.stderr, disable=hide) as progress:
            load = self._load_overlapped if postgres else self._load_in_turn
            batch_size = COPY_BATCH_BAGS if postgres else BULK_CREATE_BATCH_BAGS
            for rows in load(plan.batches(batch_size), seeder, writer):
                totals.add(rows)
                progress.update(len(rows.bags))
        writer.finish()
        # The rows bypassed the services, so bring the dashboard counters up to date.
        repair_counters()

        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {totals.bags:,} bags ({totals.parents:,} parents, {totals.bags - totals.parents:,} children), "
                f"{totals.links:,} links, {totals.scans:,} scans, {totals.bills:,} bills, "
                f"{totals.bill_bags:,} bill places in {elapsed:.1f}s ({totals.bags / max(elapsed, 1e-9):,.0f} bags/s)."
            )
        )

    def _load_in_turn(self, batches: list[Batch], seeder: Seeder, writer):
        """Build, then write, each batch in its own transaction. Ids are taken inside it,
        where they are safe from other writers."""
        for batch in batches:
            with transaction.atomic():
                bag_ids = writer.reserve_ids(Bag, batch.bag_count)
                bill_ids = writer.reserve_ids(Bill, len(batch.closing_bills))
                rows = seeder.build(batch, bag_ids, bill_ids)
                rows.write(writer)
            yield rows

    def _load_overlapped(self, batches: list[Batch], seeder: Seeder, writer):
        """Write each batch in its own transaction while a thread builds the next one: the
        database and Python then work at the same time, and at most two batches are held.
        Sequence values are never handed out twice, so the ids can be taken ahead."""

        def start(batch: Batch) -> Future:
            bag_ids = writer.reserve_ids(Bag, batch.bag_count)
            bill_ids = writer.reserve_ids(Bill, len(batch.closing_bills))
            return builder.submit(seeder.build, batch, bag_ids, bill_ids)

        with ThreadPoolExecutor(max_workers=1) as builder:
            upcoming = start(batches[0])
            for position in range(len(batches)):
                rows = upcoming.result()
                if position + 1 < len(batches):
                    upcoming = start(batches[position + 1])
                with transaction.atomic():
                    writer.begin_batch()
                    rows.write(writer)
                yield rows

    def _user(self, username: str, role: str, area: DispatchArea | None) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(actor=None, username=username, password=None, role=role, dispatch_area=area)
        return user
