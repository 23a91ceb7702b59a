"""Bags locked for a change, each read with what its representation and the scan rules need,
in one hand-written statement (tracetrack.db.sql says why).

Lock order (every service keeps it): bill → parent → children, the children in code order.
On PostgreSQL the rows are locked `FOR UPDATE` (only the bag rows, not the rows joined in);
a bag changed by a transaction that committed while this one waited is read as it is now,
`frozen` included (a holder sets it with the parent locked), so the rules judge what is
current. What is joined in only for display (area code, creator, bill) is as of the
statement's start.
"""

from accounts.models import DispatchArea, User
from bags import holders
from bags.models import Bag, Link
from tracetrack.db import sql

_BAG = sql.width(Bag)


def _display(bag: Bag, area_code: str | None, creator: str | None) -> Bag:
    if bag.dispatch_area_id is not None:
        bag.dispatch_area = DispatchArea(id=bag.dispatch_area_id, code=area_code)
    if bag.created_by_id is not None:
        bag.created_by = User(id=bag.created_by_id, username=creator)
    return bag


def _joins(alias: str) -> str:
    return (
        f" LEFT JOIN {sql.table(DispatchArea)} {alias}a ON {alias}a.{sql.q('id')} = {alias}.{sql.q('dispatch_area_id')}"
        f" LEFT JOIN {sql.table(User)} {alias}u ON {alias}u.{sql.q('id')} = {alias}.{sql.q('created_by_id')}"
    )


def lock_parent(code: str, *, lock: bool = True) -> Bag | None:
    """The bag `code` (a parent, or legacy data: anything) locked (read only, without
    `lock`), with its area, its creator and what its holders show (its bill); None when
    there is none."""
    shown = holders.shown_sql("b")
    rows = sql.fetch(
        f"SELECT {sql.columns(Bag, 'b')}, ba.{sql.q('code')}, bu.{sql.q('username')}"
        f"{''.join(', ' + expression for expression in shown)} FROM {sql.table(Bag)} b{_joins('b')}"
        f" WHERE b.{sql.q('qr_id')} = %s{sql.for_update('b') if lock else ''}",
        [code],
    )
    if not rows:
        return None
    row = rows[0]
    parent = _display(sql.instance(Bag, row[:_BAG]), row[_BAG], row[_BAG + 1])
    holders.show(parent, row[_BAG + 2:])
    return parent


def lock_bags(codes: "set[str] | list[str]") -> dict[str, Bag]:
    """The existing bags among `codes`, locked in code order (so two requests that share
    bags cannot deadlock), each with its area, its creator and its link to a parent (the
    parent's code and area loaded): code → bag."""
    codes = sorted(codes)
    if not codes:
        return {}
    link = sql.width(Link)
    rows = sql.fetch(
        f"SELECT {sql.columns(Bag, 'b')}, ba.{sql.q('code')}, bu.{sql.q('username')}, {sql.columns(Link, 'l')}, "
        f"p.{sql.q('qr_id')}, p.{sql.q('dispatch_area_id')} FROM {sql.table(Bag)} b{_joins('b')}"
        f" LEFT JOIN {sql.table(Link)} l ON l.{sql.q('child_id')} = b.{sql.q('id')}"
        f" LEFT JOIN {sql.table(Bag)} p ON p.{sql.q('id')} = l.{sql.q('parent_id')}"
        f" WHERE b.{sql.q('qr_id')} IN ({', '.join(['%s'] * len(codes))})"
        f" ORDER BY b.{sql.q('qr_id')}{sql.for_update('b')}",
        codes,
    )
    found: dict[str, Bag] = {}
    for row in rows:
        bag = _display(sql.instance(Bag, row[:_BAG]), row[_BAG], row[_BAG + 1])
        start = _BAG + 2
        if row[start] is not None:  # linked: the link, and the parent's code and area
            place = sql.instance(Link, row[start:start + link])
            place.parent = Bag(id=place.parent_id, qr_id=row[start + link], dispatch_area_id=row[start + link + 1])
            place.child = bag
            bag.parent_link = place
        else:
            Bag.parent_link.related.set_cached_value(bag, None)
        found[bag.qr_id] = bag
    return found
