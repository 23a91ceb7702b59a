"""The admin's bag search finds a code by any part of it (issue 18, defect 8), from an index:
a trigram index on PostgreSQL, so that it stays fast at a million bags."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bags.models import Bag, BagKind
from tests.helpers import fill_parent

pytestmark = pytest.mark.django_db

BULK = 20_000


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def found(admin_client, term: str) -> set[str]:
    response = admin_client.get("/admin/bags/bag/", {"q": term})
    assert response.status_code == 200
    return {bag.qr_id for bag in response.context["cl"].result_list}


def test_the_bag_search_finds_a_bag_by_a_middle_fragment_of_its_code(admin_client, dispatcher):
    """It found only codes that begin with the term."""
    fill_parent(dispatcher, "SB00420", 2, start=4200)  # children CH004200, CH004201
    fill_parent(dispatcher, "SB00777", 1, start=777)  # child CH000777
    assert found(admin_client, "0042") == {"SB00420", "CH004200", "CH004201"}
    assert found(admin_client, "  h004201 ") == {"CH004201"}  # trimmed and upper-cased, as codes are stored
    assert found(admin_client, "SB00777") == {"SB00777"}
    assert found(admin_client, "X0042") == set()


def test_a_search_term_too_short_for_a_trigram_matches_the_beginning_of_codes(admin_client, dispatcher):
    fill_parent(dispatcher, "SB00420", 1, start=4200)
    assert found(admin_client, "sb") == {"SB00420"}
    assert found(admin_client, "42") == set()  # in the middle of both codes, but two characters


@pytest.mark.postgres
def test_the_bag_search_is_answered_from_the_trigram_index(admin_client, dispatcher):
    """The statement the changelist runs for its page of results, EXPLAINed over enough bags
    that reading them all would cost: the planner finds the LIKE '%…%' on qr_id in the
    trigram index."""
    fill_parent(dispatcher, "SB00420", 2, start=4200)
    # Bulk rows, not the services: only the table's size matters to the plan. Their codes
    # are letters only (BULKAAAAAB, …), so that the search finds none of them.
    letters = str.maketrans("0123456789", "ABCDEFGHIJ")
    Bag.objects.bulk_create(Bag(qr_id=f"BULK{n:06d}".translate(letters), kind=BagKind.CHILD) for n in range(BULK))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE bags_bag")
    with CaptureQueriesContext(connection) as context:
        assert found(admin_client, "0042") == {"SB00420", "CH004200", "CH004201"}
    [search] = [q["sql"] for q in context.captured_queries  # the page of results (not its count)
                if q["sql"].startswith('SELECT "bags_bag"."id"') and "LIKE" in q["sql"]]
    assert "'%0042%'" in search and "UPPER(" not in search  # the raw column against the upper-cased term
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + search)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on bag_qr_id_trgm" in plan, plan
    assert "Seq Scan on bags_bag" not in plan, plan
