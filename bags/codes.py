"""QR code normalisation and format checks (DESIGN.md rule 1)."""

import re
from functools import lru_cache

from django.conf import settings

from bags.models import BagKind
from tracetrack.errors import invalid


@lru_cache(maxsize=8)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def normalize_code(raw) -> str:
    """Codes are matched after trimming and upper-casing."""
    return str(raw if raw is not None else "").strip().upper()


def is_parent_code(code: str) -> bool:
    return _compiled(settings.PARENT_QR_PATTERN).fullmatch(code) is not None


def is_child_code(code: str) -> bool:
    return _compiled(settings.CHILD_QR_PATTERN).fullmatch(code) is not None and not is_parent_code(code)


def parse_code(raw, kind: str, *, field: str = "qr_id") -> str:
    """Normalise `raw` and check it against the format of `kind`; a mismatch is a 400 on
    `field`."""
    code = normalize_code(raw)
    if not code:
        raise invalid(field, "A QR code is required.")
    if kind == BagKind.PARENT:
        if not is_parent_code(code):
            raise invalid(field, f"{code[:64]!r} is not a parent bag code (SB12345 or M444-12345).")
    elif kind == BagKind.CHILD:
        if not is_child_code(code):
            if is_parent_code(code):
                raise invalid(field, f"{code!r} is a parent bag code, not a child bag code.")
            raise invalid(field, f"{code[:64]!r} is not a child bag code (4–30 letters, digits or dashes).")
    else:
        raise invalid("kind", "Kind must be 'parent' or 'child'.")
    return code
