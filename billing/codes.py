"""Bill id normalisation and format (DESIGN.md rule 9)."""

import re

from django.conf import settings
from django.utils.translation import gettext as _

from tracetrack.codes import normalize_code
from tracetrack.errors import invalid


def parse_bill_id(raw) -> str:
    """Trimmed, upper-cased, 3–50 of [A-Z0-9_-], not a reserved word; else a 400."""
    code = normalize_code(raw)
    if not re.fullmatch(settings.BILL_ID_PATTERN, code):
        raise invalid("bill_id", _("Bill id must be 3–50 letters, digits, '_' or '-'."))
    if code in settings.BILL_RESERVED_IDS:
        raise invalid("bill_id", _("%(code)s is a reserved word and cannot be a bill id.") % {"code": code})
    return code
