"""Apps above bags whose rows hold a bag — billing: a parent's place on a bill.

Bags do not import those apps (layers point one way), yet two of their rules bear on bags:
a parent held by something that is closed cannot change (DESIGN.md rule 6: on a completed
bill), and a deleted bag leaves whatever holds it (rule 12: its bill place is freed). Each
such app registers a `BagHolder` when it is ready (billing/apps.py); the bag and scan
services ask the registered holders, and the rules stay written where they belong
(billing.selectors, billing.services).
"""

from typing import Any, Protocol

from bags.models import Bag
from tracetrack.errors import ServiceError


class BagHolder(Protocol):
    # What the holder shows on a parent's representation (billing: its bill), as one SQL
    # scalar expression over the bag's row (`{bag}` is its alias), read in the same
    # statement that locks the parent (bags.locking); `show` puts the value on the bag.
    shown_sql: str

    def show(self, parent: Bag, value: Any) -> None:
        """Put the value of `shown_sql` on `parent`, where its representation reads it."""

    def frozen_by(self, parent: Bag) -> str | None:
        """What freezes this parent now ("completed bill TRUCK-1"), read with a new
        statement (it sees what committed while we waited for the parent's lock); None
        when nothing does."""

    def before_delete(self, bag: Bag) -> Any:
        """Lock what holds `bag` — called before the bag itself is locked (the lock order
        every service keeps: bill → parent → child); returns what was found."""

    def refuse_delete(self, bag: Bag, held: Any) -> ServiceError | None:
        """With `bag` locked: why it may not be deleted (a conflict when it was moved
        meanwhile, or it is frozen), or None."""

    def release(self, bag: Bag, held: Any, *, actor) -> None:
        """Remove what held the deleted `bag` (with its side effects: counts, audit)."""


_holders: list[BagHolder] = []


def register(holder: BagHolder) -> None:
    if not any(type(existing) is type(holder) for existing in _holders):
        _holders.append(holder)


def holders() -> list[BagHolder]:
    return list(_holders)


def shown_sql(alias: str) -> list[str]:
    """The registered holders' `shown_sql` over the bag row `alias`, in holder order."""
    return [holder.shown_sql.format(bag=alias) for holder in _holders]


def show(parent: Bag, values) -> None:
    for holder, value in zip(_holders, values, strict=True):
        holder.show(parent, value)


def frozen_by(parent: Bag) -> str | None:
    """What freezes `parent`, asked of every holder; None when it may change."""
    for holder in _holders:
        reason = holder.frozen_by(parent)
        if reason:
            return reason
    return None
