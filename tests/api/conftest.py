import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api():
    """`api(user)` → an APIClient signed in as `user` (or anonymous for None)."""

    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make
