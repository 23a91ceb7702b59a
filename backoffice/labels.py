"""QR labels to print: inline SVG made with segno, laid out as an A4 sheet grid or one
label per page of a label roll (templates/admin/tracetrack/labels.html)."""

import re
from dataclasses import dataclass

import segno

from bags.codes import is_parent_code, normalize_code, parse_code
from bags.models import BagKind
from tracetrack.errors import InvalidInput, invalid

MAX_LABELS = 1000
# Anything stored as a code prints; this only keeps a hand-made request sane.
PRINTABLE_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,63}")


@dataclass(frozen=True)
class Layout:
    name: str
    title: str
    per_page: int
    columns: int


LAYOUTS = {
    # A4 label sheets with 3 × 8 labels of about 70 × 37 mm.
    "sheet": Layout(name="sheet", title="A4 sheet, 3 × 8 labels", per_page=24, columns=3),
    # A label printer's roll: one 50 × 30 mm label per page.
    "roll": Layout(name="roll", title="Label roll, one 50 × 30 mm label per page", per_page=1, columns=1),
}
DEFAULT_LAYOUT = "sheet"


@dataclass(frozen=True)
class Label:
    code: str
    svg: str


def qr_svg(code: str) -> str:
    """An inline SVG of the QR code for `code`, sized by CSS (it has a viewBox only).
    The quiet zone of four modules is part of the picture."""
    return segno.make_qr(code, error="m").svg_inline(border=4, omitsize=True, svgclass="qr", lineclass="qr-line")


def layout_for(name: str | None) -> Layout:
    return LAYOUTS.get(name or DEFAULT_LAYOUT) or LAYOUTS[DEFAULT_LAYOUT]


def parent_code_range(start, count) -> list[str]:
    """`count` consecutive parent codes from `start` (SB00001, SB00002, …), none skipped,
    whether or not the bags exist yet. Refused (400) when a code would leave the parent
    format, e.g. past SB99999."""
    code = parse_code(start, BagKind.PARENT, field="start")
    try:
        count = int(count)
    except (TypeError, ValueError):
        raise invalid("count", "Count must be a whole number.") from None
    if not 1 <= count <= MAX_LABELS:
        raise invalid("count", f"Count must be between 1 and {MAX_LABELS}.")
    match = re.fullmatch(r"(.*?)(\d+)", code)
    if match is None:
        raise invalid("start", f"{code} does not end in a number to count on from.")
    prefix, digits = match.groups()
    first = int(digits)
    codes = [f"{prefix}{number:0{len(digits)}d}" for number in range(first, first + count)]
    if not is_parent_code(codes[-1]):
        raise invalid("count", f"The range would run past the last code of its series ({codes[-1]}).")
    return codes


def clean_codes(text: str) -> list[str]:
    """Codes posted back by the labels page to switch layout: one field, separated by
    spaces (a field per code would pass Django's DATA_UPLOAD_MAX_NUMBER_FIELDS of 1000),
    normalised and checked."""
    codes = [normalize_code(raw) for raw in str(text or "").split()]
    if not codes:
        raise invalid("codes", "No codes to print.")
    if len(codes) > MAX_LABELS:
        raise invalid("codes", f"At most {MAX_LABELS} labels at a time.")
    bad = [code for code in codes if not PRINTABLE_CODE.fullmatch(code)]
    if bad:
        raise InvalidInput({"codes": [f"Not a bag code: {bad[0][:64]!r}."]})
    return codes


def label_pages(codes: list[str], layout: Layout) -> list[list[Label]]:
    """The labels for `codes`, in order, cut into printed pages."""
    labels = [Label(code=code, svg=qr_svg(code)) for code in codes]
    return [labels[i : i + layout.per_page] for i in range(0, len(labels), layout.per_page)]
