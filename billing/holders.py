"""Billing as a holder of bags (bags.holders): a parent on a completed bill is frozen, and a
deleted parent leaves its bill, whose parent count and status follow."""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from bags.models import Bag
from billing.models import Bill, BillBag
from billing.selectors import completed_bill_id
from billing.services import set_parent_count
from tracetrack.db import sql
from tracetrack.errors import BagRefused


@dataclass(frozen=True)
class _Place:
    place: BillBag | None
    bill: Bill | None


class BillHolder:
    # The parent's bill: its bill_id (the representation's "bill").
    shown_sql = (
        f"(SELECT bl.{sql.q('bill_id')} FROM {sql.table(BillBag)} bb JOIN {sql.table(Bill)} bl "
        f"ON bl.{sql.q('id')} = bb.{sql.q('bill_id')} WHERE bb.{sql.q('parent_id')} = {{bag}}.{sql.q('id')})"
    )

    def show(self, parent: Bag, bill_id: str | None) -> None:
        place = BillBag(parent=parent, bill=Bill(bill_id=bill_id)) if bill_id is not None else None
        Bag.bill_link.related.set_cached_value(parent, place)

    def frozen_by(self, parent: Bag) -> str | None:
        bill_id = completed_bill_id(parent)
        return _("completed bill %(bill_id)s") % {"bill_id": bill_id} if bill_id else None

    def before_delete(self, bag: Bag) -> _Place:
        place = BillBag.objects.filter(parent_id=bag.pk).first()
        bill = Bill.objects.select_for_update().get(pk=place.bill_id) if place else None
        return _Place(place, bill)

    def refuse_delete(self, bag: Bag, held: _Place) -> BagRefused | None:
        now = BillBag.objects.filter(parent_id=bag.pk).first()
        if (now.bill_id if now else None) != (held.bill.pk if held.bill else None):
            return BagRefused("conflict", _("Bag %(qr_id)s was moved to another bill meanwhile; try again.")
                              % {"qr_id": bag.qr_id})
        if held.bill is not None and held.bill.is_completed:
            return BagRefused("bill_completed", _("Bag %(qr_id)s is on completed bill %(bill_id)s; reopen it first.")
                              % {"qr_id": bag.qr_id, "bill_id": held.bill.bill_id})
        return None

    def release(self, bag: Bag, held: _Place, *, actor) -> None:
        if held.bill is not None:
            BillBag.objects.filter(parent_id=bag.pk).delete()
            set_parent_count(held.bill, held.bill.parent_count - 1, actor=actor)
