"""A parent on a completed bill is frozen (DESIGN.md rule 6): the flag on its row, which the
scan that locks the parent reads in the same statement, follows the bill's completion."""

import importlib

import pytest
from django.apps import apps

from bags.models import Bag
from billing.services import bill_add_parent, bill_complete, bill_create, bill_reopen
from scans.services import scan_child, scan_parent
from tests.helpers import refused

pytestmark = pytest.mark.django_db


def frozen(*codes) -> list[bool]:
    return [Bag.objects.get(qr_id=code).frozen for code in codes]


def test_completion_freezes_the_parents_and_reopening_thaws_them(biller, dispatcher):
    bill_create(user=biller, bill_id="T-1", capacity=2, destination="D", vehicle_number="V")
    for code in ("SB00001", "SB00002", "SB00003"):
        scan_parent(user=dispatcher, qr_id=code)
    bill_add_parent(user=biller, bill_id="T-1", parent_qr="SB00001")
    bill_add_parent(user=biller, bill_id="T-1", parent_qr="SB00002")
    assert frozen("SB00001", "SB00002", "SB00003") == [False, False, False]
    bill_complete(user=biller, bill_id="T-1")
    assert frozen("SB00001", "SB00002", "SB00003") == [True, True, False]
    exc = refused("bill_completed", scan_child, user=dispatcher, parent_qr="SB00001", qr_id="CH000001")
    assert "T-1" in exc.detail  # the message names the bill
    scan_child(user=dispatcher, parent_qr="SB00003", qr_id="CH000001")
    bill_reopen(user=biller, bill_id="T-1")
    assert frozen("SB00001", "SB00002") == [False, False]
    scan_child(user=dispatcher, parent_qr="SB00001", qr_id="CH000002")


def test_the_migration_freezes_the_parents_of_bills_completed_before_the_flag(biller, dispatcher):
    bill_create(user=biller, bill_id="T-1", capacity=1, destination="D", vehicle_number="V")
    scan_parent(user=dispatcher, qr_id="SB00001")
    scan_parent(user=dispatcher, qr_id="SB00002")
    bill_add_parent(user=biller, bill_id="T-1", parent_qr="SB00001")
    bill_complete(user=biller, bill_id="T-1")
    Bag.objects.update(frozen=False)  # as before the column existed
    migration = importlib.import_module("billing.migrations.0005_frozen_parents_of_completed_bills")
    migration.freeze(apps, None)
    assert frozen("SB00001", "SB00002") == [True, False]
