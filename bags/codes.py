"""QR code normalisation and format checks (DESIGN.md rule 1)."""

import re
from functools import lru_cache

from django.conf import settings
from django.utils.translation import gettext as _

from bags.models import BagKind
from tracetrack.codes import normalize_code
from tracetrack.errors import invalid

__all__ = ["normalize_code", "parse_code", "is_parent_code", "is_child_code", "looks_like_parent_code"]


@lru_cache(maxsize=8)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def is_parent_code(code: str) -> bool:
    return _compiled(settings.PARENT_QR_PATTERN).fullmatch(code) is not None


def looks_like_parent_code(code: str) -> bool:
    """Does `code` start like a parent code (`SB` + digit, `M444-`)? Such a code that is not
    a parent code is a mistyped or misread parent label, never a child (DESIGN.md rule 1)."""
    return _compiled(settings.PARENT_PREFIX_PATTERN).match(code) is not None


def is_child_code(code: str) -> bool:
    return (_compiled(settings.CHILD_QR_PATTERN).fullmatch(code) is not None
            and not is_parent_code(code) and not looks_like_parent_code(code))


def parse_code(raw, kind: str, *, field: str = "qr_id") -> str:
    """Normalise `raw` and check it against the format of `kind`; a mismatch is a 400 on
    `field`."""
    code = normalize_code(raw)
    if not code:
        raise invalid(field, _("A QR code is required."))
    if kind == BagKind.PARENT:
        if not is_parent_code(code):
            raise invalid(field, _("%(code)s is not a parent bag code (SB12345 or M444-12345).") % {"code": repr(code[:64])})
    elif kind == BagKind.CHILD:
        if not is_child_code(code):
            if is_parent_code(code):
                raise invalid(field, _("%(code)s is a parent bag code, not a child bag code.") % {"code": repr(code)})
            if looks_like_parent_code(code):
                raise invalid(field, _("%(code)s looks like a mistyped parent code (SB12345 or M444-12345); "
                                       "it cannot be a child bag. Scan the label again.") % {"code": repr(code[:64])})
            raise invalid(field, _("%(code)s is not a child bag code (4–30 letters, digits or dashes).") % {"code": repr(code[:64])})
    else:
        raise invalid("kind", _("Kind must be 'parent' or 'child'."))
    return code
