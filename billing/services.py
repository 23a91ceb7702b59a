"""Bills: create, edit, add and remove parents, complete, reopen, delete (DESIGN.md rule 9).

Every change locks the bill row first (then parent bags, in id order), so capacity and
`parent_count` stay exact under concurrent requests; the unique parent column of BillBag
is the database backstop for "one bill per parent".
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit
from accounts.models import User
from accounts.policy import require
from bags.codes import normalize_code, parse_code
from bags.locking import lock_parent
from bags.models import Bag, BagKind
from bags.services import set_frozen
from billing.codes import parse_bill_id
from billing.models import BILL_TEXT_LIMITS, Bill, BillBag, BillStatus
from stats.services import Tally
from tracetrack import metrics
from tracetrack.db import sql
from tracetrack.db.transactions import service_atomic
from tracetrack.errors import BillRefused, InvalidInput, NotFound

UNSET: Any = object()


@dataclass(frozen=True)
class BillParentResult:
    bill: Bill
    parent: Bag
    duplicate: bool


def bill_snapshot(bill: Bill) -> dict[str, Any]:
    return {
        "bill_id": bill.bill_id,
        "status": bill.status,
        "capacity": bill.capacity,
        "parent_count": bill.parent_count,
        "destination": bill.destination,
        "vehicle_number": bill.vehicle_number,
        "description": bill.description,
    }


def _capacity(value: Any, *, maximum: int, errors: dict[str, list[str]]) -> int | None:
    """The capacity rule (DESIGN.md rule 9) on a number that the caller's input parsed
    (billing.serializers.BillCapacityField); anything else is refused, not parsed."""
    if not isinstance(value, int) or isinstance(value, bool):
        errors["capacity"] = [_("Capacity must be a whole number.")]
        return None
    number = value
    if not settings.BILL_CAPACITY_MIN <= number <= maximum:
        errors["capacity"] = [_("Capacity must be between %(low)s and %(high)s.")
                              % {"low": settings.BILL_CAPACITY_MIN, "high": maximum}]
        return None
    return number


def _text(value: Any, field: str, *, required: bool, errors: dict[str, list[str]]) -> str:
    max_length = BILL_TEXT_LIMITS[field]
    text = "" if value is None else str(value).strip()
    if required and not text:
        errors[field] = [_("This field is required.")]
    elif len(text) > max_length:
        errors[field] = [_("At most %(count)s characters.") % {"count": max_length}]
    return text


def _lock_bill(bill_id: str) -> Bill:
    """The bill locked for update (taken before its parents' locks), with its creator's
    name for its representation; 404 when there is none."""
    code = normalize_code(bill_id)
    rows = sql.fetch(
        f"SELECT {sql.columns(Bill, 'bl')}, u.{sql.q('username')} FROM {sql.table(Bill)} bl "
        f"LEFT JOIN {sql.table(User)} u ON u.{sql.q('id')} = bl.{sql.q('created_by_id')} "
        f"WHERE bl.{sql.q('bill_id')} = %s{sql.for_update('bl')}",
        [code],
    )
    if not rows:
        raise NotFound(detail=_("No bill %(code)s.") % {"code": code})
    bill = sql.instance(Bill, rows[0][:-1])
    if bill.created_by_id is not None:
        bill.created_by = User(id=bill.created_by_id, username=rows[0][-1])
    return bill


def _place_of(parent: Bag) -> tuple[int, str] | None:
    """The parent's place on a bill now — (bill pk, bill_id) — read with a statement of its
    own after the parent's lock, so it sees a place that a concurrent request committed
    while this one waited."""
    rows = sql.fetch(
        f"SELECT bb.{sql.q('bill_id')}, bl.{sql.q('bill_id')} FROM {sql.table(BillBag)} bb "
        f"JOIN {sql.table(Bill)} bl ON bl.{sql.q('id')} = bb.{sql.q('bill_id')} WHERE bb.{sql.q('parent_id')} = %s",
        [parent.pk],
    )
    return rows[0] if rows else None


def _lock_parents(bill: Bill) -> list[int]:
    """Lock the bill's parents, in pk order (the order every service locks bags in), so
    that no child scan slips in while the bill closes or reopens; their pks."""
    return list(Bag.objects.select_for_update().filter(bill_link__bill=bill).order_by("pk").values_list("pk", flat=True))


def _refuse_if_completed(bill: Bill) -> None:
    if bill.is_completed:
        raise BillRefused("bill_completed", _("Bill %(bill_id)s is completed; reopen it first.") % {"bill_id": bill.bill_id})


def set_parent_count(bill: Bill, parent_count: int, *, actor: User | None = None) -> None:
    """Save a locked bill's new parent count; an open bill is `new` while empty and
    `in_progress` otherwise. Status changes are audited."""
    before = bill.status
    bill.parent_count = parent_count
    if not bill.is_completed:
        bill.status = BillStatus.NEW if parent_count == 0 else BillStatus.IN_PROGRESS
    bill.updated_at = timezone.now()
    sql.update(Bill, [bill.pk], parent_count=parent_count, status=bill.status, updated_at=bill.updated_at)
    Tally().bill_status(before, bill.status).apply()
    if bill.status != before:
        audit(
            actor=actor,
            action="bill.status",
            entity_type="bill",
            entity_id=bill.bill_id,
            before={"status": before},
            after={"status": bill.status},
        )


@transaction.atomic
def bill_create(
    *,
    user: User,
    bill_id: str,
    capacity: Any,
    destination: str,
    vehicle_number: str,
    description: str = "",
) -> Bill:
    """Create an empty (`new`) bill. Refusals: 400 for bad fields, 409 `bill_exists`."""
    require(user, "bill.manage")
    errors: dict[str, list[str]] = {}
    try:
        code = parse_bill_id(bill_id)
    except InvalidInput as exc:
        errors.update(exc.errors)
        code = ""
    number = _capacity(capacity, maximum=settings.BILL_CAPACITY_CREATE_MAX, errors=errors)
    destination = _text(destination, "destination", required=True, errors=errors)
    vehicle_number = _text(vehicle_number, "vehicle_number", required=True, errors=errors)
    description = _text(description, "description", required=False, errors=errors)
    if errors:
        raise InvalidInput(errors)
    bill = Bill(
        bill_id=code,
        capacity=number,
        destination=destination,
        vehicle_number=vehicle_number.upper(),
        description=description,
        created_by=user,
    )
    try:
        with transaction.atomic():
            bill.save(force_insert=True)
    except IntegrityError:
        raise BillRefused("bill_exists", _("Bill %(code)s already exists.") % {"code": code}) from None
    Tally().bill_made(bill.status).apply()
    audit(actor=user, action="bill.create", entity_type="bill", entity_id=code, after=bill_snapshot(bill))
    return bill


@transaction.atomic
def bill_update(
    *,
    user: User,
    bill_id: str,
    capacity: Any = UNSET,
    destination: Any = UNSET,
    vehicle_number: Any = UNSET,
    description: Any = UNSET,
) -> Bill:
    """Edit an open bill. Capacity may grow up to BILL_CAPACITY_MAX but never below the
    parents already on the bill (400). A completed bill → 409 `bill_completed`."""
    require(user, "bill.manage")
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    if capacity is not UNSET:
        changes["capacity"] = _capacity(capacity, maximum=settings.BILL_CAPACITY_MAX, errors=errors)
    if destination is not UNSET:
        changes["destination"] = _text(destination, "destination", required=True, errors=errors)
    if vehicle_number is not UNSET:
        changes["vehicle_number"] = _text(
            vehicle_number, "vehicle_number", required=True, errors=errors
        ).upper()
    if description is not UNSET:
        changes["description"] = _text(description, "description", required=False, errors=errors)
    if errors:
        raise InvalidInput(errors)
    bill = _lock_bill(bill_id)
    _refuse_if_completed(bill)
    if "capacity" in changes and changes["capacity"] < bill.parent_count:
        raise InvalidInput(
            {"capacity": [_("Capacity cannot be below the %(count)s parents already on the bill.") % {"count": bill.parent_count}]}
        )
    before = bill_snapshot(bill)
    for field, value in changes.items():
        setattr(bill, field, value)
    bill.save(update_fields=[*changes, "updated_at"])
    after = bill_snapshot(bill)
    if after != before:
        audit(actor=user, action="bill.update", entity_type="bill", entity_id=bill.bill_id, before=before, after=after)
    return bill


@service_atomic
def bill_add_parent(*, user: User, bill_id: str, parent_qr: str) -> BillParentResult:
    """Put a parent bag on a bill. Order: format (400), bill and bag exist (404),
    duplicate (already on this bill: no change), then `is_child`, `bill_completed`,
    `already_billed` (with `current_bill`), `bill_full`."""
    require(user, "bill.manage")
    parent_code = parse_code(parent_qr, BagKind.PARENT)
    bill = _lock_bill(bill_id)
    parent = lock_parent(parent_code)
    if parent is None:
        raise NotFound(detail=_("No bag %(parent_code)s.") % {"parent_code": parent_code})
    place = _place_of(parent)
    if place is not None and place[0] == bill.pk:
        return BillParentResult(bill=bill, parent=parent, duplicate=True)
    if parent.kind != BagKind.PARENT:
        raise BillRefused("is_child", _("%(code)s is a child bag; only parent bags go on a bill.") % {"code": parent_code})
    _refuse_if_completed(bill)
    if place is not None:
        raise BillRefused("already_billed", _("%(code)s is already on bill %(bill_id)s.") % {"code": parent_code, "bill_id": place[1]},
                          current_bill=place[1])
    if bill.parent_count >= bill.capacity:
        raise BillRefused("bill_full", _("Bill %(bill_id)s is full (%(capacity)s parents).") % {"bill_id": bill.bill_id, "capacity": bill.capacity})
    sql.insert(BillBag, [{"bill_id": bill.pk, "parent_id": parent.pk, "added_by_id": user.pk,
                          "created_at": timezone.now()}])
    set_parent_count(bill, bill.parent_count + 1, actor=user)
    return BillParentResult(bill=bill, parent=parent, duplicate=False)


@transaction.atomic
def bill_remove_parent(*, user: User, bill_id: str, parent_qr: str) -> Bill:
    """Take a parent off an open bill. 404 when the parent is not on this bill."""
    require(user, "bill.manage")
    parent_code = normalize_code(parent_qr)
    bill = _lock_bill(bill_id)
    place = BillBag.objects.filter(bill=bill, parent__qr_id=parent_code).first()
    if place is None:
        raise NotFound(detail=_("%(code)s is not on bill %(bill_id)s.") % {"code": parent_code, "bill_id": bill.bill_id})
    _refuse_if_completed(bill)
    place.delete()
    set_parent_count(bill, bill.parent_count - 1, actor=user)
    audit(actor=user, action="bill.remove_parent", entity_type="bill", entity_id=bill.bill_id, before={"parent": parent_code})
    return bill


@transaction.atomic
def bill_complete(*, user: User, bill_id: str) -> Bill:
    """Complete a bill whose parent count equals its capacity; it is then frozen, and so
    are its parents. The parents are locked first so that no child scan slips in while the
    bill closes. Refusals: `bill_completed`, `bill_incomplete`."""
    require(user, "bill.manage")
    bill = _lock_bill(bill_id)
    _refuse_if_completed(bill)
    if bill.parent_count != bill.capacity:
        raise BillRefused(
            "bill_incomplete", _("Bill %(bill_id)s has %(count)s of %(capacity)s parents.")
            % {"bill_id": bill.bill_id, "count": bill.parent_count, "capacity": bill.capacity}
        )
    set_frozen(_lock_parents(bill), True)
    before = bill_snapshot(bill)
    bill.status = BillStatus.COMPLETED
    bill.completed_at = timezone.now()
    bill.completed_by = user
    bill.save(update_fields=["status", "completed_at", "completed_by", "updated_at"])
    Tally().bill_status(before["status"], bill.status).apply()
    transaction.on_commit(metrics.BILLS_COMPLETED.inc)
    audit(actor=user, action="bill.complete", entity_type="bill", entity_id=bill.bill_id, before=before, after=bill_snapshot(bill))
    return bill


@transaction.atomic
def bill_reopen(*, user: User, bill_id: str) -> Bill:
    """Reopen a completed bill: back to `in_progress` (`new` when empty), `completed_at`
    cleared. Refusal: `bill_not_completed`."""
    require(user, "bill.manage")
    bill = _lock_bill(bill_id)
    if not bill.is_completed:
        raise BillRefused("bill_not_completed", _("Bill %(bill_id)s is not completed.") % {"bill_id": bill.bill_id})
    set_frozen(_lock_parents(bill), False)
    before = bill_snapshot(bill)
    bill.status = BillStatus.IN_PROGRESS if bill.parent_count else BillStatus.NEW
    bill.completed_at = None
    bill.completed_by = None
    bill.save(update_fields=["status", "completed_at", "completed_by", "updated_at"])
    Tally().bill_status(before["status"], bill.status).apply()
    audit(actor=user, action="bill.reopen", entity_type="bill", entity_id=bill.bill_id, before=before, after=bill_snapshot(bill))
    return bill


@transaction.atomic
def bill_delete(*, user: User, bill_id: str) -> None:
    """Delete an open bill (admins); its parents are freed. A completed bill must be
    reopened first (`bill_completed`): it is the record of a truck that left."""
    require(user, "bill.delete")
    bill = _lock_bill(bill_id)
    _refuse_if_completed(bill)
    before = bill_snapshot(bill)
    before["parents"] = list(
        BillBag.objects.filter(bill=bill).order_by("created_at").values_list("parent__qr_id", flat=True)
    )
    bill.delete()
    Tally().bill_removed(before["status"]).apply()
    audit(actor=user, action="bill.delete", entity_type="bill", entity_id=before["bill_id"], before=before)
