from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from billing.selectors import bill_day_summary, day_bounds
from billing.services import bill_add_parent, bill_complete, bill_create
from tests.helpers import fill_parent

pytestmark = pytest.mark.django_db
IST = ZoneInfo("Asia/Kolkata")


def test_day_bounds_use_the_configured_time_zone():
    start, end = day_bounds(date(2026, 11, 30))
    assert start == datetime(2026, 11, 29, 18, 30, tzinfo=ZoneInfo("UTC"))
    assert end - start == timedelta(days=1)


def test_summary_counts_the_bills_completed_that_day_in_local_time(biller, make_user, dispatcher):
    other_biller = make_user("biller", username="biller2")
    # 23:50 IST on the 30th is 18:20 UTC: still the 30th locally.
    with time_machine.travel(datetime(2026, 11, 30, 23, 50, tzinfo=IST), tick=False):
        fill_parent(dispatcher, "SB00001", 30)
        fill_parent(dispatcher, "SB00002", 12, start=100)
        bill_create(user=biller, bill_id="BILL-1", capacity=2, destination="Delhi", vehicle_number="DL1")
        bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
        bill_add_parent(user=other_biller, bill_id="BILL-1", parent_qr="SB00002")
        bill_complete(user=other_biller, bill_id="BILL-1")
        bill_create(user=biller, bill_id="BILL-2", capacity=5, destination="Agra", vehicle_number="UP1")
    # 00:10 IST on 1 December: the next day.
    with time_machine.travel(datetime(2026, 12, 1, 0, 10, tzinfo=IST), tick=False):
        bill_create(user=other_biller, bill_id="BILL-3", capacity=1, destination="Agra", vehicle_number="UP2")

    summary = bill_day_summary(day=date(2026, 11, 30))
    assert (summary.bills_created, summary.bills_completed, summary.parents, summary.children) == (2, 1, 2, 42)
    assert (summary.actual_weight_kg, summary.expected_weight_kg) == (42.0, 60.0)
    assert summary.by_user == [
        {"username": "biller", "bills_created": 2, "bills_completed": 0, "parents_added": 1},
        {"username": "biller2", "bills_created": 0, "bills_completed": 1, "parents_added": 1},
    ]
    next_day = bill_day_summary(day=date(2026, 12, 1))
    assert (next_day.bills_created, next_day.bills_completed, next_day.children) == (1, 0, 0)


def test_summary_of_an_empty_day():
    summary = bill_day_summary(day=date(2020, 1, 1))
    assert (summary.bills_created, summary.bills_completed, summary.parents, summary.children) == (0, 0, 0, 0)
    assert summary.by_user == [] and summary.expected_weight_kg == 0.0
