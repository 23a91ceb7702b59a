"""Scanning: parent scans, child scans and undo (DESIGN.md rules 1–7 and 11).

Every child-count change happens under a row lock on the parent (`SELECT … FOR UPDATE`),
taken before the child's, so the 30-child cap and one-parent-per-child hold whatever the
concurrency. The unique child column of Link is the database backstop.
"""

import copy
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit
from accounts.models import DispatchArea, User
from accounts.policy import require
from bags import holders
from bags.codes import parse_code
from bags.holders import frozen_by
from bags.locking import lock_bags, lock_parent
from bags.models import Bag, BagKind, BagStatus, Link
from bags.services import new_bag_area, parent_status, set_child_count
from scans.models import Scan, ScanKind
from stats.services import Tally
from tracetrack.db import sql
from tracetrack.db.transactions import service_atomic
from tracetrack.errors import InvalidInput, NotFound, ScanRefused, ServiceError


@dataclass(frozen=True)
class ParentScanResult:
    bag: Bag
    scan: Scan
    created: bool


@dataclass(frozen=True)
class ChildScanResult:
    child: Bag
    parent: Bag
    # The scan that made the link; for a duplicate, the original linking scan.
    scan: Scan | None
    duplicate: bool
    created: bool


@dataclass(frozen=True)
class UndoResult:
    removed: str
    parent: Bag
    scan: Scan


def _area_refusal(user: User, bag: Bag) -> ScanRefused | None:
    """Dispatchers work only in their own area (DESIGN.md rule 7)."""
    if user.is_dispatcher and bag.dispatch_area_id != user.dispatch_area_id:
        return ScanRefused("area_mismatch", _("Bag %(qr_id)s belongs to another dispatch area.") % {"qr_id": bag.qr_id})
    return None


def _is_child(code: str) -> ScanRefused:
    return ScanRefused("is_child", _("%(code)s is a child bag, not a parent.") % {"code": code})


def _parent_refusal(user: User, parent: Bag) -> ScanRefused | None:
    """Why this parent takes no child scan and no undo from `user` now, if it does not, in
    the API's order: `is_child` (legacy data), `area_mismatch` (rule 7), `bill_completed`
    (a parent whose bill is completed cannot change, rule 6: its `frozen` flag, read with
    its lock)."""
    if parent.kind != BagKind.PARENT:
        return _is_child(parent.qr_id)
    refusal = _area_refusal(user, parent)
    if refusal is None and parent.frozen:
        frozen = frozen_by(parent) or _("a completed bill")
        refusal = ScanRefused("bill_completed", _("Parent %(qr_id)s is on %(frozen)s; it cannot change.") % {"qr_id": parent.qr_id, "frozen": frozen})
    return refusal


def _refuse(refusal: ScanRefused | None) -> None:
    if refusal is not None:
        raise refusal


def _locked_parent(code: str) -> Bag:
    """The bag `code` locked for update (taken before any child's lock), with what its
    representation shows; 404 when there is none."""
    parent = lock_parent(code)
    if parent is None:
        raise NotFound(detail=_("No parent bag %(code)s.") % {"code": code})
    return parent


def _write(rows: list[dict], tally: Tally, together: sql.Together) -> list[Scan]:
    """Write the scan rows (dicts of Scan attnames) and their counts, with the writes already
    in `together`, in one statement; the Scans, with their ids."""
    scans = [Scan(**row) for row in rows]
    for scan in scans:
        tally.scan(scan)
    tally.apply(into=together)
    sql.insert(Scan, rows, returning=("id",), into=together)
    for (pk,), scan in zip(together.run(), scans, strict=True):
        scan.id = pk
    return scans


# --- Parent scan ------------------------------------------------------------------------


@service_atomic
def scan_parent(
    *,
    user: User,
    qr_id: str,
    scan_id: "uuid.UUID | None" = None,
    dispatch_area: "str | DispatchArea | None" = None,
) -> ParentScanResult:
    """Scan a parent: create it when new (`created=True`), or accept an existing one.
    Writes one Scan row either way, under `scan_id` when the client gave one. Refusals:
    `is_child`, `area_mismatch`."""
    require(user, "scan")
    code = parse_code(qr_id, BagKind.PARENT)
    bag = lock_parent(code, lock=False)
    created = False
    if bag is None:
        area = new_bag_area(user=user, requested=dispatch_area)
        now = timezone.now()
        row = {"qr_id": code, "kind": BagKind.PARENT, "status": BagStatus.PENDING, "child_count": 0,
               "dispatch_area_id": area.pk if area else None, "created_by_id": user.pk, "created_at": now,
               "updated_at": now}
        inserted = sql.insert(Bag, [row], returning=("id",), ignore_conflicts_on="qr_id")
        if inserted:
            bag = Bag(id=inserted[0][0], **row)
            sql.show(bag, dispatch_area=area, created_by=user)
            holders.show(bag, [None] * len(holders.holders()))  # on nothing yet
            created = True
        else:  # created by a concurrent scan: treat it as existing
            bag = lock_parent(code, lock=False)
    if not created:
        if bag.kind != BagKind.PARENT:
            raise _is_child(code)
        _refuse(_area_refusal(user, bag))
    tally = Tally()
    if created:
        tally.bag_made(bag)
    (scan,) = _write([{
        "scan_id": scan_id or uuid.uuid4(), "kind": ScanKind.PARENT, "bag_id": bag.pk, "qr_id": code,
        "parent_id": None, "parent_qr": "", "user_id": user.pk, "dispatch_area_id": bag.dispatch_area_id,
        "timestamp": timezone.now(), "undone_at": None, "created_bag": False,
    }], tally, sql.Together())
    sql.show(scan, user=user, dispatch_area=bag.dispatch_area if bag.dispatch_area_id else None)
    return ParentScanResult(bag=bag, scan=scan, created=created)


# --- Child scan -------------------------------------------------------------------------


def scan_child(
    *, user: User, parent_qr: str, qr_id: str, scan_id: "uuid.UUID | None" = None
) -> ChildScanResult:
    """Scan a child into a parent; the Scan row that links it carries `scan_id` when the
    client gave one.

    Order (API.md): format (400), parent exists (404), duplicate (200, no new link, the
    original scan), then refusals: `is_child`, `area_mismatch`, `bill_completed`,
    `is_parent`, `already_linked` (with `current_parent`), `capacity_reached`. A child that
    does not exist yet is created in the parent's area."""
    require(user, "scan")
    parent_code = parse_code(parent_qr, BagKind.PARENT, field="parent")
    child_code = parse_code(qr_id, BagKind.CHILD)
    return _only(_scan_children(user=user, parent_code=parent_code, items=[(child_code, scan_id)], alone=True))


def scan_children(*, user: User, parent_qr: str, qr_ids: Sequence[str],
                  scan_ids: "Sequence[uuid.UUID | None] | None" = None) -> list["ChildScanResult | ServiceError"]:
    """Scan many children into one parent in one transaction, as if `scan_child` were
    called for each code in turn (imports): each code gets the result or the refusal that
    its own scan would get, in order — so the 31st new child is `capacity_reached`, a code
    given twice is a duplicate the second time. A refused code writes nothing; the accepted
    ones are written with one statement per table, each scan under its `scan_ids` entry when
    given (batches of scans). A missing parent raises NotFound (404) for all; a badly formed
    child code is an InvalidInput in its place."""
    require(user, "scan")
    parent_code = parse_code(parent_qr, BagKind.PARENT, field="parent")
    outcomes: list[ChildScanResult | ServiceError | None] = [None] * len(qr_ids)
    items: list[tuple[str, uuid.UUID | None]] = []
    positions: list[int] = []
    for index, raw in enumerate(qr_ids):
        try:
            items.append((parse_code(raw, BagKind.CHILD), scan_ids[index] if scan_ids else None))
            positions.append(index)
        except InvalidInput as exc:
            outcomes[index] = exc
    if items:
        for index, outcome in zip(positions, _scan_children(user=user, parent_code=parent_code, items=items),
                                  strict=True):
            outcomes[index] = outcome
    return outcomes


def _only(outcomes: list["ChildScanResult | ServiceError"]) -> ChildScanResult:
    (outcome,) = outcomes
    if isinstance(outcome, ServiceError):
        raise outcome
    return outcome


def _current_parent(child: Bag) -> Bag | None:
    try:
        return child.parent_link.parent
    except Link.DoesNotExist:
        return None


def _in_parent(child: Bag, parent: Bag) -> bool:
    current_parent = _current_parent(child)
    return current_parent is not None and current_parent.pk == parent.pk


def _child_refusal(user: User, child: Bag) -> ScanRefused | None:
    """Why an existing bag that is not in this parent cannot go into it, if it cannot. A
    dispatcher is not told which parent of another area holds it (rule 7: they cannot see
    that parent)."""
    if child.kind != BagKind.CHILD:
        return ScanRefused("is_parent", _("%(qr_id)s is a parent bag, not a child.") % {"qr_id": child.qr_id})
    current_parent = _current_parent(child)
    if current_parent is None:
        return None
    if user.is_dispatcher and current_parent.dispatch_area_id != user.dispatch_area_id:
        return ScanRefused("already_linked", _("%(qr_id)s is already in another parent.") % {"qr_id": child.qr_id},
                           current_parent=None)
    return ScanRefused(
        "already_linked",
        _("%(qr_id)s is already in parent %(parent)s.") % {"qr_id": child.qr_id, "parent": current_parent.qr_id},
        current_parent=current_parent.qr_id,
    )


@service_atomic
def _scan_children(
    *, user: User, parent_code: str, items: list[tuple[str, uuid.UUID | None]], alone: bool = False
) -> list[ChildScanResult | ScanRefused]:
    """The child scans of `items` ((code, scan_id) pairs, codes already parsed) into one
    parent, judged in order (see `scan_child` for the order of the checks): the parent and
    the children are locked and read once, then every accepted scan is written.

    `alone`: one child scan in a transaction of its own (`scan_child`). When the parent
    takes a new child now (no parent refusal, room left), the child is inserted straight
    away instead of being looked for first: inserted, it is new, and no rule can refuse it
    (a statement less on the most frequent scan); there already, the insert does nothing and
    the child is locked and judged as always. (Not in a batch: there the children of the
    items before are locked already, and a child inserted before the others are locked
    would take its locks out of the code order.)"""
    parent = _locked_parent(parent_code)
    now = timezone.now()
    unset = object()
    parent_refusal = unset  # judged once, only when a code is not a duplicate
    capacity = settings.PARENT_CAPACITY
    inserted: dict[str, Bag] = {}
    if alone:
        parent_refusal = _parent_refusal(user, parent)  # judged here for the shortcut, used below
        if parent_refusal is None and parent.child_count < capacity:
            inserted = _insert_children(user, parent, [items[0][0]], now)
    existing = {} if inserted else lock_bags(code for code, _scan_id in items)
    count = parent.child_count
    outcomes: list[ChildScanResult | ScanRefused | None] = [None] * len(items)
    accepted: dict[str, int] = {}  # code → index of the item that links it
    duplicates: dict[int, str] = {}  # index → code already in this parent
    for index, (code, _scan_id) in enumerate(items):
        child = existing.get(code)
        if code in accepted or (child is not None and _in_parent(child, parent)):
            duplicates[index] = code
            continue
        if parent_refusal is unset:
            parent_refusal = _parent_refusal(user, parent)
        refusal = parent_refusal or (_child_refusal(user, child) if child is not None else None)
        if refusal is None and count >= capacity:
            refusal = ScanRefused("capacity_reached", _("Parent %(parent_code)s is full (%(capacity)s children).") % {"parent_code": parent_code, "capacity": capacity})
        if refusal is not None:
            outcomes[index] = refusal
            continue
        accepted[code] = index
        count += 1

    tally = Tally()
    first_count, first_updated = parent.child_count, parent.updated_at
    created = inserted or _create_children(user, parent, accepted, existing, outcomes, now)
    relinked = [existing[code] for code in accepted if code not in created]
    # The link, the parent's count, the scans and the counters: one statement (PostgreSQL).
    together = sql.Together()
    _link_children(parent, created, relinked, tally, now, together)
    if accepted:
        set_child_count(parent, parent.child_count + len(accepted), tally, into=together)
    area = parent.dispatch_area if parent.dispatch_area_id else None
    scans = _write([
        {"scan_id": items[index][1] or uuid.uuid4(), "kind": ScanKind.CHILD,
         "bag_id": (created.get(code) or existing[code]).pk, "qr_id": code, "parent_id": parent.pk,
         "parent_qr": parent_code, "user_id": user.pk, "dispatch_area_id": parent.dispatch_area_id,
         "timestamp": now, "undone_at": None, "created_bag": code in created}
        for code, index in accepted.items()
    ], tally, together)
    linking_scans = {scan.qr_id: scan for scan in scans}
    for scan in scans:
        sql.show(scan, bag=created.get(scan.qr_id) or existing[scan.qr_id], parent=parent, user=user,
                 dispatch_area=area)
        outcomes[accepted[scan.qr_id]] = ChildScanResult(
            child=scan.bag, parent=parent, scan=scan, duplicate=False, created=scan.created_bag
        )

    if duplicates:
        # A duplicate answers with the scan that made the link: written above, or earlier.
        earlier = [existing[code] for code in duplicates.values() if code not in linking_scans]
        for code, scan in _linking_scans(parent, earlier).items():
            scan.bag, scan.parent = existing[code], parent  # as loaded, not read again
            linking_scans[code] = scan
        for index, code in duplicates.items():
            scan = linking_scans.get(code)
            child = scan.bag if scan is not None else existing[code]
            outcomes[index] = ChildScanResult(child=child, parent=parent, scan=scan, duplicate=True, created=False)
    # Each answer shows the parent as it was right after its own item (a batch of scans
    # answers each item as its single call would have, at that point of the sequence).
    running, linked_at = first_count, set(accepted.values())
    for index, outcome in enumerate(outcomes):
        running += index in linked_at
        if isinstance(outcome, ChildScanResult) and running != parent.child_count:
            outcomes[index] = replace(outcome, parent=_as_of(parent, running, now if running != first_count
                                                             else first_updated))
    return outcomes


def _as_of(parent: Bag, child_count: int, updated_at) -> Bag:
    """A copy of `parent` showing `child_count` children (and the status that goes with it)."""
    view = copy.copy(parent)
    view.child_count, view.status, view.updated_at = child_count, parent_status(child_count), updated_at
    return view


def _create_children(user, parent, accepted, existing, outcomes, now) -> dict[str, Bag]:
    """Insert the accepted children that do not exist yet, in the parent's area. A code
    that a concurrent request inserted meanwhile is judged again as an existing bag (it
    cannot be in this parent: we hold the parent's lock)."""
    missing = [code for code in accepted if code not in existing]
    if not missing:
        return {}
    created = _insert_children(user, parent, missing, now)
    arrived = lock_bags([code for code in missing if code not in created])
    for code, bag in arrived.items():
        existing[code] = bag
        refusal = _child_refusal(user, bag)
        if refusal is not None:
            outcomes[accepted.pop(code)] = refusal
    return created


def _insert_children(user, parent, codes: list[str], now) -> dict[str, Bag]:
    """Insert the children `codes` that do not exist, in the parent's area, in one
    statement: code → the new bag, for those inserted (a code that exists, or that a
    concurrent request inserted meanwhile, is skipped)."""
    rows = {code: {"qr_id": code, "kind": BagKind.CHILD, "status": BagStatus.COMPLETED, "child_count": 0,
                   "dispatch_area_id": parent.dispatch_area_id, "created_by_id": user.pk, "created_at": now,
                   "updated_at": now} for code in codes}
    area = parent.dispatch_area if parent.dispatch_area_id else None
    created: dict[str, Bag] = {}
    for pk, code in sql.insert(Bag, list(rows.values()), returning=("id", "qr_id"), ignore_conflicts_on="qr_id"):
        created[code] = bag = Bag(id=pk, **rows[code])
        sql.show(bag, dispatch_area=area, created_by=user)
    return created


def _link_children(parent: Bag, created: dict[str, Bag], relinked: list[Bag], tally: Tally, now,
                   together: sql.Together) -> None:
    """Link the new and the pending children to the parent. A pending child, perhaps
    registered in another area, is now linked in this one."""
    area = parent.dispatch_area_id
    for child in created.values():
        tally.bag_made(child)
    if relinked:
        for child in relinked:
            tally.child_linked(child, into_area_id=area)
            child.status = BagStatus.COMPLETED
            child.dispatch_area = parent.dispatch_area if area else None
            child.updated_at = now
        sql.update(Bag, [child.pk for child in relinked], status=BagStatus.COMPLETED, dispatch_area_id=area,
                   updated_at=now, into=together)
    children = [*created.values(), *relinked]
    sql.insert(Link, [{"parent_id": parent.pk, "child_id": child.pk, "created_at": now} for child in children],
               into=together)
    for child in children:  # the child's representation
        sql.show(child, parent_link=sql.show(Link(parent_id=parent.pk, child_id=child.pk, created_at=now),
                                             parent=parent, child=child))


def _linking_scans(parent: Bag, children: list[Bag]) -> dict[str, Scan]:
    """For children already in `parent`: the newest not-undone child scan that linked each,
    by the child's code (with its user and area, which its representation shows)."""
    if not children:
        return {}
    codes = {child.pk: child.qr_id for child in children}
    found: dict[str, Scan] = {}
    scans = (
        Scan.objects.filter(bag__in=children, parent=parent, kind=ScanKind.CHILD, undone_at__isnull=True)
        .select_related("user", "dispatch_area").order_by("bag_id", "-timestamp", "-id")
    )
    for scan in scans:
        found.setdefault(codes[scan.bag_id], scan)
    return found


# --- Undo -------------------------------------------------------------------------------


@service_atomic
def undo_last_scan(*, user: User, parent_qr: str) -> UndoResult:
    """Reverse the caller's newest not-yet-undone child scan on the parent (admins: anyone's
    newest), when it is at most UNDO_WINDOW old (DESIGN.md rule 5). The link goes; the scan
    stays with `undone_at` set; a child this scan created is deleted, an older child goes
    back to `pending`. Refusals: `nothing_to_undo`, `bill_completed`, `area_mismatch`."""
    require(user, "scan")
    parent_code = parse_code(parent_qr, BagKind.PARENT, field="parent")
    parent = _locked_parent(parent_code)
    _refuse(_parent_refusal(user, parent))

    now = timezone.now()
    found = _undo_candidate(user, parent)
    if found is None or found[3] < now - settings.UNDO_WINDOW:
        raise ScanRefused("nothing_to_undo", _("You have no scan on %(parent_code)s from the last hour to undo.") % {"parent_code": parent_code})
    scan_pk, scan_id, code, _scanned_at, created_bag = found
    child = lock_bags([code])[code]  # after the parent's lock
    # Every write of the undo but the audit row: one statement (PostgreSQL).
    together = sql.Together()
    together.add(f"DELETE FROM {sql.table(Link)} WHERE {sql.q('child_id')} = %s AND {sql.q('parent_id')} = %s",
                 [child.pk, parent.pk])
    tally = Tally()
    set_child_count(parent, parent.child_count - 1, tally, into=together)
    tally.child_unlinked(child, deleted=created_bag)
    if created_bag:
        # The bag this scan made goes with it; the scan log keeps its code (rule 11). (No
        # row is written twice in the one statement: PostgreSQL would keep only one write.)
        sql.update(Scan, [scan_pk], undone_at=now, bag_id=None, into=together)
        together.add(f"UPDATE {sql.table(Scan)} SET {sql.q('bag_id')} = NULL WHERE {sql.q('bag_id')} = %s "
                     f"AND {sql.q('id')} <> %s", [child.pk, scan_pk])
        together.add(f"DELETE FROM {sql.table(Bag)} WHERE {sql.q('id')} = %s", [child.pk])
    else:
        sql.update(Scan, [scan_pk], undone_at=now, into=together)
        sql.update(Bag, [child.pk], status=BagStatus.PENDING, updated_at=now, into=together)
    tally.apply(into=together)
    together.run()
    audit(
        actor=user,
        action="scan.undo",
        entity_type="scan",
        entity_id=scan_id,
        before={"child": code, "parent": parent_code, "child_deleted": created_bag},
    )
    return UndoResult(removed=code, parent=parent, scan=Scan(id=scan_pk, scan_id=scan_id, qr_id=code, undone_at=now))


def _undo_candidate(user: User, parent: Bag) -> tuple | None:
    """The newest not-undone child scan on `parent` (the user's own, unless an admin) whose
    child is still in it: (pk, scan_id, code, timestamp, created_bag)."""
    s, link = "s", sql.table(Link)
    mine = f" AND {s}.{sql.q('user_id')} = %s" if not user.is_admin else ""
    rows = sql.fetch(
        f"SELECT {s}.{sql.q('id')}, {s}.{sql.q('scan_id')}, {s}.{sql.q('qr_id')}, {s}.{sql.q('timestamp')}, "
        f"{s}.{sql.q('created_bag')} FROM {sql.table(Scan)} {s} JOIN {link} l ON l.{sql.q('child_id')} = "
        f"{s}.{sql.q('bag_id')} AND l.{sql.q('parent_id')} = %s WHERE {s}.{sql.q('parent_id')} = %s AND "
        f"{s}.{sql.q('kind')} = %s AND {s}.{sql.q('undone_at')} IS NULL{mine} "
        f"ORDER BY {s}.{sql.q('timestamp')} DESC, {s}.{sql.q('id')} DESC LIMIT 1",
        [parent.pk, parent.pk, ScanKind.CHILD, *([user.pk] if mine else [])],
    )
    if not rows:
        return None
    pk, scan_id, code, timestamp, created_bag = rows[0]
    return (pk, Scan._meta.get_field("scan_id").to_python(scan_id), code, sql.aware(timestamp),
            bool(created_bag))
