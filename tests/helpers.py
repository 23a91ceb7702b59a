"""Test helpers that build data through the services."""

import uuid

import pytest

from scans.services import scan_child, scan_parent
from tracetrack.errors import ServiceError


def child_code(n: int, prefix: str = "CH") -> str:
    return f"{prefix}{n:06d}"


def fill_parent(user, parent_qr: str, count: int, *, start: int = 0, prefix: str = "CH"):
    """Scan a parent and `count` new children into it; returns the parent bag."""
    scan_parent(user=user, qr_id=parent_qr)
    result = None
    for n in range(start, start + count):
        result = scan_child(user=user, parent_qr=parent_qr, qr_id=child_code(n, prefix))
    from bags.models import Bag

    return Bag.objects.get(qr_id=parent_qr) if result is None else result.parent


def refused(code: str, call, *args, **kwargs) -> ServiceError:
    """Assert that `call` raises a ServiceError with `code`; return it."""
    with pytest.raises(ServiceError) as info:
        call(*args, **kwargs)
    assert info.value.code == code, f"expected {code}, got {info.value.code}: {info.value.detail}"
    return info.value


def new_scan_id() -> str:
    return str(uuid.uuid4())
