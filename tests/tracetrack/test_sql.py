"""tracetrack.db.sql: the hand-written statements prepare values exactly as the ORM would."""

import uuid

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import DispatchArea, User
from bags.models import Bag, BagKind, BagStatus, Link
from scans.models import Scan, ScanKind
from tracetrack.db import sql

pytestmark = pytest.mark.django_db

VALUES = {
    "qr_id": ["C123", "", "ç-ü"], "kind": [BagKind.CHILD, "parent"], "status": [BagStatus.PENDING, "completed"],
    "child_count": [0, 30, True], "dispatch_area_id": [None, 7], "created_by_id": [3, None],
    "created_at": [timezone.now()], "updated_at": [timezone.now()], "scan_id": [uuid.uuid4()],
    "bag_id": [None, 12], "parent_id": [5], "parent_qr": ["P1"], "user_id": [2], "timestamp": [timezone.now()],
    "undone_at": [None, timezone.now()], "created_bag": [True, False], "child_id": [9], "id": [1, 2**40],
}


@pytest.mark.parametrize("model", [Bag, Scan, Link])
def test_prepare_gives_what_the_orm_saves(model):
    """Plain values skip the fields' calls (`_plain`): the result must not differ from
    get_db_prep_save for any column a scan writes, on the database under test."""
    for field in model._meta.concrete_fields:
        for value in VALUES.get(field.attname, []):
            assert sql.prepare([field], [value], connection) == [field.get_db_prep_save(value, connection)], (
                field.attname, value)
    # A foreign key stores its target's type; a value of another type takes the field's own path.
    child_count = Bag._meta.get_field("child_count")
    assert sql._plain(Scan._meta.get_field("bag")) is int
    assert sql.prepare([child_count], ["30"], connection) == [30]


def test_show_puts_relations_without_assignment(django_assert_num_queries):
    area = DispatchArea(id=4, code="north")
    bag = sql.show(Bag(qr_id="C1", dispatch_area_id=4, created_by_id=None), dispatch_area=area, created_by=None)
    assert bag.dispatch_area is area and bag.created_by is None
    link = sql.show(Link(parent_id=1, child_id=2), parent=Bag(id=1, qr_id="P1"), child=bag)
    assert link.parent.qr_id == "P1" and link.child is bag
    assert sql.show(bag, parent_link=link).parent_link is link  # the reverse side of a one-to-one
    unlinked = sql.show(Bag(id=10**9, qr_id="C2"), parent_link=None)  # saved: without it, a query
    with django_assert_num_queries(0), pytest.raises(Link.DoesNotExist):  # known to be unlinked: no query
        unlinked.parent_link  # noqa: B018
    assert sql.show(Scan(kind=ScanKind.CHILD, user_id=3), user=User(id=3, username="op")).user.username == "op"
