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


def frozen_by(parent: Bag) -> str | None:
    """What freezes `parent`, asked of every holder; None when it may change."""
    for holder in _holders:
        reason = holder.frozen_by(parent)
        if reason:
            return reason
    return None
