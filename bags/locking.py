"""Bags locked for a change, each read with what its representation and the scan rules need,
in one hand-written statement (tracetrack.db.sql says why).

Lock order (every service keeps it): bill → parent → children, the children in code order.
On PostgreSQL the rows are locked `FOR UPDATE` (only the bag rows, not the rows joined in),
in the statement's ORDER BY order (PostgreSQL sorts, then locks); a bag changed by a transaction that committed
while this one waited is read as it is now, `frozen` included (a holder sets it with the
parent locked), so the rules judge what is current. What is joined in only for display
(area code, creator, bill, current parent) is as of the statement's start.
"""

from collections.abc import Iterable
from functools import lru_cache

from accounts.models import DispatchArea, User
from bags import holders
from bags.models import Bag, Link
from tracetrack.db import sql

_BAG = sql.width(Bag)
_LINK = sql.width(Link)


@lru_cache(maxsize=256)
def _statement(codes: int, lock: bool) -> str:
    """SELECT `codes` bags by code, each with its area code, its creator's name, its link
    (with the parent's code and area) and what the holders show, in code order (the code
    given as the last parameter first). Built once per shape."""
    b, q = "b", sql.q
    shown = "".join(", " + expression for expression in holders.shown_sql(b))
    return (
        f"SELECT {sql.columns(Bag, b)}, ba.{q('code')}, bu.{q('username')}, {sql.columns(Link, 'l')}, "
        f"p.{q('qr_id')}, p.{q('dispatch_area_id')}{shown} FROM {sql.table(Bag)} {b}"
        f" LEFT JOIN {sql.table(DispatchArea)} ba ON ba.{q('id')} = {b}.{q('dispatch_area_id')}"
        f" LEFT JOIN {sql.table(User)} bu ON bu.{q('id')} = {b}.{q('created_by_id')}"
        f" LEFT JOIN {sql.table(Link)} l ON l.{q('child_id')} = {b}.{q('id')}"
        f" LEFT JOIN {sql.table(Bag)} p ON p.{q('id')} = l.{q('parent_id')}"
        f" WHERE {b}.{q('qr_id')} IN ({', '.join(['%s'] * codes)})"
        f" ORDER BY {b}.{q('qr_id')} <> %s, {b}.{q('qr_id')}{sql.for_update(b) if lock else ''}"
    )


def _bag(row) -> Bag:
    bag = sql.instance(Bag, row[:_BAG])
    area_code, creator = row[_BAG], row[_BAG + 1]
    if bag.dispatch_area_id is not None:
        sql.show(bag, dispatch_area=DispatchArea(id=bag.dispatch_area_id, code=area_code))
    if bag.created_by_id is not None:
        sql.show(bag, created_by=User(id=bag.created_by_id, username=creator))
    start = _BAG + 2
    if row[start] is not None:  # linked: the link, and the parent's code and area
        place = sql.instance(Link, row[start:start + _LINK])
        sql.show(place, child=bag, parent=Bag(id=place.parent_id, qr_id=row[start + _LINK],
                                              dispatch_area_id=row[start + _LINK + 1]))
    else:
        place = None
    sql.show(bag, parent_link=place)
    holders.show(bag, row[start + _LINK + 2:])
    return bag


def _read(codes: list[str], first: str, *, lock: bool) -> list[Bag]:
    if not codes:
        return []
    return [_bag(row) for row in sql.fetch(_statement(len(codes), lock), [*codes, first])]


def lock_parent(code: str, *, lock: bool = True) -> Bag | None:
    """The bag `code` (a parent, or legacy data: anything) locked (read only, without
    `lock`), with its area, its creator and what its holders show (its bill); None when
    there is none."""
    bags = _read([code], code, lock=lock)
    return bags[0] if bags else None


def lock_bags(codes: Iterable[str]) -> dict[str, Bag]:
    """The existing bags among `codes`, locked in code order (so two requests that share
    bags cannot deadlock), each with its area, its creator and its link to a parent (the
    parent's code and area loaded): code → bag.

    Children are read in a statement of their own, after their parent's lock is held, not
    in the statement that takes it: a statement that waited for a lock still sees only the
    rows committed before it began, so children that a concurrent scan of the same parent
    had just inserted would look new (and come out `already_linked` instead of duplicates)."""
    return {bag.qr_id: bag for bag in _read(sorted(set(codes)), "", lock=True)}
