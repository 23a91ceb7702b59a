"""GET /scan/<parent>/state/: what the scan page asks after a parent scan that answered
with a bill (is the parent frozen by a completed bill?), and who may ask it."""

import pytest

from billing.services import bill_add_parent, bill_complete, bill_create
from tests.helpers import fill_parent

pytestmark = pytest.mark.django_db


def test_the_state_of_a_parent_is_for_those_who_may_scan_it(client, dispatcher, other_dispatcher, biller):
    """Everyone may scan (a dispatcher only in their own area, which the 404 keeps)."""
    fill_parent(dispatcher, "SB00304", 1, prefix="FX")
    client.force_login(dispatcher)
    assert client.get("/scan/SB00304/state/").json() == {"qr_id": "SB00304", "frozen": False, "frozen_by": None}
    assert client.post("/scan/SB00304/state/").status_code == 405
    client.force_login(other_dispatcher)
    assert client.get("/scan/SB00304/state/").status_code == 404  # another area's parent
    client.force_login(biller)
    assert client.get("/scan/SB00304/state/").json()["frozen"] is False
    assert client.get("/scan/SB99999/state/").status_code == 404
    client.logout()
    assert client.get("/scan/SB00304/state/").status_code == 302


def test_a_parent_on_a_completed_bill_is_frozen_by_it(client, dispatcher, biller):
    fill_parent(dispatcher, "SB00306", 1, prefix="FW")
    bill_create(user=biller, bill_id="FW-1", capacity=1, destination="Agra", vehicle_number="UP 4")
    bill_add_parent(user=biller, bill_id="FW-1", parent_qr="SB00306")
    client.force_login(dispatcher)
    assert client.get("/scan/sb00306/state/").json() == {"qr_id": "SB00306", "frozen": False, "frozen_by": None}
    bill_complete(user=biller, bill_id="FW-1")
    assert client.get("/scan/SB00306/state/").json() == {"qr_id": "SB00306", "frozen": True,
                                                         "frozen_by": "completed bill FW-1"}
